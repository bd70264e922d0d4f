/**
 * The sandbox's pure parts: layout, emulated nodes, site settings, the slurm.conf overlay,
 * slurmdbd.conf, QoS named by partitions, and how a changed config is applied.
 */
import t from 'tap'
import type { ClusterSpec } from '../../src/spec/schema.js'
import {
  DEFAULT_PORTS, MAX_SOCKET_PATH, SandboxLayoutError, checkHostname, configChange, dbUserSql, emulatedNodes, gpuDeviceFiles,
  mariadbArgs, meaningfulLines, mungedArgs, nodeAddresses, nodeOfPidFile, qosNamedBy, releaseNumber, resolveStateDir,
  sandboxPaths, sandboxSite, slurmdbdConf,
} from '../../src/sandbox/layout.js'

const spec = {
  apiVersion: 'steward/v1',
  cluster: { name: 'lab', slurmVersion: '22.05', controller: { host: 'head-1' }, accounting: { host: 'head-1' } },
  nodeGroups: [
    { name: 'h100', nodes: 'gpu-[001-004]', cpus: 8, realMemoryMiB: 1000, gpus: { type: 'h100', count: 2 } },
    { name: 'a10g', nodes: 'a-[1-3]', cpus: 4, realMemoryMiB: 1000, gpus: { type: 'a10g', count: 4, devices: '/dev/nvidia[0-3]', sharing: { mode: 'shard', perGpu: 2 } } },
    { name: 'cpu', nodes: 'cpu-1', cpus: 4, realMemoryMiB: 1000 },
  ],
  qos: [],
  departments: [],
  users: [],
} as ClusterSpec

t.test('state directory: env, default, absolute only, never /', async (t) => {
  t.equal(resolveStateDir({}), '/var/lib/steward-sandbox')
  t.equal(resolveStateDir({ STEWARD_SANDBOX_DIR: '/tmp/sbx/' }), '/tmp/sbx')
  t.equal(resolveStateDir({ STEWARD_SANDBOX_DIR: '/tmp/a' }, '/tmp/b'), '/tmp/b', 'an explicit directory wins')
  t.equal(resolveStateDir({ STEWARD_SANDBOX_DIR: '' }), '/var/lib/steward-sandbox')
  t.throws(() => resolveStateDir({ STEWARD_SANDBOX_DIR: 'relative/dir' }), SandboxLayoutError)
  t.throws(() => resolveStateDir({ STEWARD_SANDBOX_DIR: '/tmp/..' }), SandboxLayoutError)
})

t.test('paths: everything under the state dir, sockets short enough', async (t) => {
  const p = sandboxPaths('/var/lib/steward-sandbox')
  for (const [key, value] of Object.entries(p)) t.ok(value.startsWith('/var/lib/steward-sandbox'), `${key} is under the state dir`)
  t.equal(p.slurmConf, '/var/lib/steward-sandbox/etc/slurm.conf')
  t.ok(p.mungeSocket.length < MAX_SOCKET_PATH)
  t.throws(() => sandboxPaths(`/tmp/${'x'.repeat(90)}`), /socket path .* choose a shorter STEWARD_SANDBOX_DIR/)
  t.equal(nodeOfPidFile('slurmd-gpu-001.pid'), 'gpu-001')
  t.equal(nodeOfPidFile('slurmctld.pid'), undefined)
})

t.test('emulated nodes: the first N of each group, one port each', async (t) => {
  const nodes = emulatedNodes(spec, 2, 17000)
  t.same(nodes, [
    { name: 'gpu-001', group: 'h100', port: 17000 },
    { name: 'gpu-002', group: 'h100', port: 17001 },
    { name: 'a-1', group: 'a10g', port: 17002 },
    { name: 'a-2', group: 'a10g', port: 17003 },
    { name: 'cpu-1', group: 'cpu', port: 17004 },
  ])
  t.throws(() => emulatedNodes(spec, 0, 17000), SandboxLayoutError, 'at least one per group')
  t.equal(emulatedNodes(spec, 10, 17000).length, 8, 'a group smaller than N is emulated whole')
  t.throws(() => emulatedNodes(spec, -1, 17000), SandboxLayoutError)
  t.throws(() => emulatedNodes(spec, 1.5, 17000), SandboxLayoutError)
  const addresses = nodeAddresses(nodes, 'vm')
  t.same(addresses.get('a-1'), { port: 17002, nodeHostname: 'vm', nodeAddr: '127.0.0.1' })
})

t.test('host names that can go into slurm.conf', async (t) => {
  t.equal(checkHostname('vm'), 'vm')
  t.equal(checkHostname('ip-10-0-0-1.ec2.internal'), 'ip-10-0-0-1.ec2.internal')
  t.throws(() => checkHostname('bad host'), SandboxLayoutError)
  t.throws(() => checkHostname('x;rm'), SandboxLayoutError)
})

t.test('site settings: private paths and ports, per-node %n, no cgroups', async (t) => {
  const p = sandboxPaths('/srv/sbx')
  const site = sandboxSite(p, spec, 'vm', DEFAULT_PORTS)
  t.equal(site.slurmUser, 'root')
  t.equal(site.slurmctldPort, 16817)
  t.equal(site.accountingStoragePort, 16819)
  t.equal(site.accountingStorageHost, '127.0.0.1')
  t.equal(site.authInfo, 'socket=/srv/sbx/run/munge.sock')
  t.equal(site.accountingStoragePass, '/srv/sbx/run/munge.sock', 'slurmdbd connections use the private munged too')
  t.equal(site.stateSaveLocation, '/srv/sbx/state/lab', 'one StateSaveLocation per cluster name')
  t.equal(site.slurmdSpoolDir, '/srv/sbx/spool/%n')
  t.equal(site.slurmdPidFile, '/srv/sbx/run/slurmd-%n.pid')
  t.equal(site.slurmdLogFile, '/srv/sbx/log/slurmd-%n.log')
  t.equal(site.proctrackType, 'proctrack/linuxproc')
  t.equal(site.taskPlugin, 'task/none')
  t.equal(site.slurmdParameters, 'config_overrides')
  t.equal(site.controllerHost, 'vm')
  t.equal(site.controllerAddr, '127.0.0.1')
  const noAccounting = { ...spec, cluster: { ...spec.cluster, accounting: undefined } } as ClusterSpec
  t.equal(sandboxSite(p, noAccounting, 'vm', DEFAULT_PORTS).accountingStorageHost, undefined, 'accounting stays off when the spec has none')
  t.equal(sandboxSite(p, noAccounting, 'vm', DEFAULT_PORTS).accountingStoragePass, undefined)
})

t.test('slurmdbd.conf and the database user', async (t) => {
  const p = sandboxPaths('/srv/sbx')
  const conf = slurmdbdConf(p, DEFAULT_PORTS, 'abcdef123456')
  t.match(conf, /^AuthInfo=socket=\/srv\/sbx\/run\/munge\.sock$/m)
  t.match(conf, /^DbdPort=16819$/m)
  t.match(conf, /^StoragePort=13306$/m)
  t.match(conf, /^StoragePass=abcdef123456$/m)
  t.match(conf, /^PidFile=\/srv\/sbx\/run\/slurmdbd\.pid$/m)
  t.throws(() => slurmdbdConf(p, DEFAULT_PORTS, "x'; DROP"), SandboxLayoutError)
  t.match(dbUserSql('abcdef123456'), /CREATE USER IF NOT EXISTS 'slurm'@'127\.0\.0\.1' IDENTIFIED BY 'abcdef123456';/)
  t.throws(() => dbUserSql("a'b"), SandboxLayoutError)
})

t.test('daemon argv stay under the state dir', async (t) => {
  const p = sandboxPaths('/srv/sbx')
  t.ok(mungedArgs(p).includes('--socket=/srv/sbx/run/munge.sock'))
  t.ok(mungedArgs(p).includes('--key-file=/srv/sbx/munge/munge.key'))
  const db = mariadbArgs(p, DEFAULT_PORTS)
  t.equal(db[0], '--no-defaults', '--no-defaults must come first')
  t.ok(db.includes('--bind-address=127.0.0.1'))
  t.ok(db.includes('--port=13306'))
  t.ok(db.includes('--datadir=/srv/sbx/mysql'))
})

t.test('GPU device files of the emulated groups', async (t) => {
  t.same(gpuDeviceFiles(spec, emulatedNodes(spec, 1, 17000)), ['/dev/nvidia0', '/dev/nvidia1', '/dev/nvidia2', '/dev/nvidia3'])
  t.same(gpuDeviceFiles(spec, [{ name: 'gpu-001', group: 'h100', port: 1 }]), ['/dev/nvidia0', '/dev/nvidia1'], 'default devices from the count')
  t.same(gpuDeviceFiles(spec, [{ name: 'cpu-1', group: 'cpu', port: 1 }]), [])
})

t.test('QoS named by partitions', async (t) => {
  const conf = [
    '# PartitionName=commented QOS=nope',
    'PartitionName=a Nodes=x AllowAccounts=a AllowQos=standard,long QOS=scavenger State=UP',
    'PartitionName=b Nodes=x AllowQos=ALL State=UP',
    'NodeName=x QOS=ignored',
  ].join('\n')
  t.same(qosNamedBy(conf), ['long', 'scavenger', 'standard'])
})

t.test('release numbers', async (t) => {
  t.equal(releaseNumber('slurm-wlm 22.05.8'), 2205)
  t.equal(releaseNumber('24.11.1'), 2411)
  t.throws(() => releaseNumber('unknown'), SandboxLayoutError)
})

t.test('how a changed config is applied', async (t) => {
  const base = [
    '# header sha256:aaa',
    'ClusterName=lab',
    'SlurmctldPort=16817',
    'NodeName=n1 Port=17000 CPUs=4',
    'NodeName=n[2-4] CPUs=4 State=DOWN Reason=not_emulated',
    'PartitionName=p Nodes=n[1-4] MaxTime=1-00:00:00 State=UP',
  ].join('\n')
  const applied = { clusterName: 'lab', files: { 'slurm.conf': base, 'gres.conf': 'AutoDetect=off\n', 'pam_slurm_adopt.conf': 'x' } }
  const next = (changes: Record<string, string>, cluster = 'lab') => ({ clusterName: cluster, files: { ...applied.files, ...changes } })
  t.equal(configChange(undefined, applied, 2205), 'restart', 'nothing applied yet: start')
  t.equal(configChange(applied, next({}), 2205), 'none')
  t.equal(configChange(applied, next({ 'slurm.conf': base.replace('sha256:aaa', 'sha256:bbb') }), 2205), 'none', 'comments do not count')
  t.equal(configChange(applied, next({ 'pam_slurm_adopt.conf': 'y' }), 2205), 'none', 'files Slurm does not read')
  t.equal(configChange(applied, next({ 'slurm.conf': base.replace('MaxTime=1-00:00:00', 'MaxTime=2-00:00:00') }), 2205), 'reconfigure', 'a partition limit')
  const moreNodes = base.replace('NodeName=n[2-4]', 'NodeName=n2 Port=17001 CPUs=4\nNodeName=n[3-4]')
  t.equal(configChange(applied, next({ 'slurm.conf': moreNodes }), 2205), 'restart', 'node lines on 22.05: restart (MaxNodeCount trap)')
  t.equal(configChange(applied, next({ 'slurm.conf': moreNodes }), 2411), 'reconfigure', 'node lines from 24.11: reconfigure')
  t.equal(configChange(applied, next({ 'slurm.conf': base.replace('16817', '16820') }), 2411), 'restart', 'ports need a restart')
  t.equal(configChange(applied, next({ 'gres.conf': 'AutoDetect=off\nNodeName=n1 Name=gpu File=/dev/nvidia0\n' }), 2205), 'restart', 'gres.conf: restart')
  t.equal(configChange(applied, next({}, 'other'), 2205), 'restart', 'another cluster')
  t.same(meaningfulLines('# c\n\nA=1  \n  # d\nB=2'), ['A=1', 'B=2'])
})
