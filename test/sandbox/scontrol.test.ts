/** Reading `scontrol -o` records and node states, with lines copied from Slurm 22.05.8. */
import t from 'tap'
import { nodeDown, nodeState, nodeUsable, parseRecord, parseRecords } from '../../src/sandbox/scontrol.js'

const idle = 'NodeName=gpu-a10g-01 Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=48 CPUTot=48 CPULoad=2.78 AvailableFeatures=a10g ActiveFeatures=a10g Gres=gpu:a10g:4,shard:a10g:16 NodeAddr=127.0.0.1 NodeHostName=vm Port=17002 Version=22.05.8 OS=Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=180000 AllocMem=0 FreeMem=22498 Sockets=48 Boards=1 State=IDLE ThreadsPerCore=1 TmpDisk=0 Weight=10 Owner=N/A MCS_label=N/A Partitions=cv,scavenger  BootTime=2026-11-23T08:03:15 SlurmdStartTime=2026-11-23T08:26:05 LastBusyTime=2026-11-23T08:26:15 CfgTRES=cpu=48,mem=180000M,billing=48,gres/gpu=4,gres/shard=16 AllocTRES= CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s'
const down = 'NodeName=gpu-a10g-05 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=48 CPUTot=48 CPULoad=N/A AvailableFeatures=a10g ActiveFeatures=a10g Gres=gpu:a10g:4,shard:16 NodeAddr=127.0.0.1 NodeHostName=vm  RealMemory=180000 State=DOWN+NOT_RESPONDING ThreadsPerCore=1 Partitions=cv,scavenger  CfgTRES=cpu=48,mem=180000M,billing=48,gres/gpu=4,gres/shard=16 AllocTRES= Reason=not emulated [root@2026-11-23T08:26:05]'

t.test('one record: values with spaces run to the next key', async (t) => {
  const r = parseRecord(idle)
  t.equal(r.get('NodeName'), 'gpu-a10g-01')
  t.equal(r.get('OS'), 'Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0')
  t.equal(r.get('Gres'), 'gpu:a10g:4,shard:a10g:16')
  t.equal(r.get('CfgTRES'), 'cpu=48,mem=180000M,billing=48,gres/gpu=4,gres/shard=16')
  t.equal(r.get('AllocTRES'), '')
  t.equal(r.get('State'), 'IDLE')
  t.equal(parseRecord(down).get('Reason'), 'not emulated [root@2026-11-23T08:26:05]')
})

t.test('records of a command, first occurrence of a key wins', async (t) => {
  const records = parseRecords(`${idle}\n${down}\n\n`)
  t.equal(records.length, 2)
  t.same(parseRecords('No nodes in the system\n'), [])
  const job = parseRecord('JobId=15 JobState=RUNNING Nodes=gpu-a10g-01 CPU_IDs=0 Mem=3750 GRES=shard:1(IDX:0) AllocNode:Sid=localhost:4418 TRES=cpu=1,gres/shard=1')
  t.equal(job.get('GRES'), 'shard:1(IDX:0)')
  t.equal(job.get('AllocNode:Sid'), 'localhost:4418')
})

t.test('node states', async (t) => {
  t.same(nodeState('IDLE+DRAIN'), { base: 'IDLE', flags: ['DRAIN'] })
  t.same(nodeState('idle*'), { base: 'idle', flags: ['NOT_RESPONDING'] })
  for (const s of ['IDLE', 'MIXED', 'ALLOCATED', 'IDLE+PLANNED', 'ALLOCATED+COMPLETING']) t.ok(nodeUsable(s), `${s} is usable`)
  for (const s of ['DOWN', 'DOWN+NOT_RESPONDING', 'IDLE+DRAIN', 'IDLE+NOT_RESPONDING', 'UNKNOWN', 'FUTURE', 'IDLE+POWERED_DOWN']) t.notOk(nodeUsable(s), `${s} is not`)
  t.ok(nodeDown('DOWN+NOT_RESPONDING'))
  t.ok(nodeDown('IDLE+DRAIN'))
  t.notOk(nodeDown('IDLE'))
})
