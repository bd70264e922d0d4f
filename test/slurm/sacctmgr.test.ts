import t from 'tap'
import { readFileSync } from 'node:fs'
import {
  normalizeTime, normalizeTres, parseLimit, parseList, parseMemMiB, parseParsable, SacctmgrParseError, specTresToString,
} from '../../src/slurm/sacctmgr.js'

// Expected values come from sacctmgr 22.05.8 in the sandbox: what it printed for what we wrote.
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

t.test('TRES strings read back from sacctmgr normalise to one canonical form', async (t) => {
  const cases: Array<{ name: string; input: string; want: string }> = [
    { name: 'an empty field is no limit', input: '', want: '' },
    { name: 'Slurm order is re-sorted by name', input: 'node=2,cpu=8', want: 'cpu=8,node=2' },
    { name: 'memory printed in GiB becomes MiB', input: 'cpu=16,gres/gpu=1,mem=4G', want: 'cpu=16,gres/gpu=1,mem=4096' },
    { name: 'memory not divisible by 1024 keeps its M suffix', input: 'mem=1900000M,node=2', want: 'mem=1900000,node=2' },
    { name: '-1 entries (cleared limits) are dropped', input: 'cpu=-1,gres/gpu=2', want: 'gres/gpu=2' },
    { name: 'GRES names keep their type prefix', input: 'gres/shard=2,cpu=8', want: 'cpu=8,gres/shard=2' },
  ]
  for (const c of cases) t.equal(normalizeTres(c.input), c.want, c.name)
})

t.test('spec TRES maps become the same canonical strings with Slurm TRES names', async (t) => {
  t.equal(specTresToString({ cpu: 256, gpu: 8 }), 'cpu=256,gres/gpu=8')
  t.equal(specTresToString({ shard: 2, mem: 4096, node: 1 }), 'gres/shard=2,mem=4096,node=1')
  t.equal(specTresToString(undefined), '')
})

t.test('memory sizes in any sacctmgr unit are MiB', async (t) => {
  for (const [input, want] of [['512', 512], ['2G', 2048], ['1T', 1048576], ['1900000M', 1900000], ['1024K', 1]] as const) {
    t.equal(parseMemMiB(input), want, input)
  }
  t.throws(() => parseMemMiB('lots'), SacctmgrParseError)
})

t.test('times and limits normalise unset values to nothing', async (t) => {
  const times: Array<[string | number | undefined, string]> = [
    ['', ''], ['-1', ''], ['UNLIMITED', ''], [undefined, ''],
    ['2-00:00:00', '2-00:00:00'], ['04:00:00', '04:00:00'], ['90', '01:30:00'], [90, '01:30:00'], ['7-00', '7-00:00:00'],
  ]
  for (const [input, want] of times) t.equal(normalizeTime(input), want, `time ${String(input)}`)
  t.equal(parseLimit(''), undefined)
  t.equal(parseLimit('-1'), undefined)
  t.equal(parseLimit('20'), 20)
  t.throws(() => parseLimit('1.5'), SacctmgrParseError)
  t.same(parseList('standard,long,,interactive'), ['interactive', 'long', 'standard'])
})

t.test('a QoS line with every field set parses into its columns, free text last', async (t) => {
  const fields = ['Name', 'Priority', 'MaxTRESPU', 'MaxTRES', 'GrpTRES', 'MaxWall', 'MaxJobsPU', 'MaxSubmitPU', 'Preempt', 'PreemptMode', 'UsageFactor', 'Flags', 'Description'] as const
  const rows = parseParsable(fixture('qos-all-fields.txt'), fields)
  const fancy = rows.find((r) => r.Name === 'fancy')
  t.ok(fancy, 'the fixture has the QoS written with every setting')
  t.match(fancy, {
    Priority: '7', MaxTRESPU: 'cpu=16,gres/gpu=1,mem=4G', MaxTRES: 'cpu=8,gres/shard=2', GrpTRES: 'mem=1900000M,node=2',
    MaxWall: '01:30:00', MaxJobsPU: '3', MaxSubmitPU: '9', Preempt: 'long,scavenger', PreemptMode: 'requeue',
    UsageFactor: '0.500000', Flags: 'DenyOnLimit,NoDecay', Description: 'every field',
  })
  t.equal(rows.find((r) => r.Name === 'normal')?.Description, 'Normal QOS default', 'slurmdbd\'s own QoS keeps its capitals')
})

t.test('a | inside the last field stays in that field', async (t) => {
  t.same(parseParsable('cv|computer-science|vision | graphics\n', ['Account', 'Organization', 'Description'] as const), [
    { Account: 'cv', Organization: 'computer-science', Description: 'vision | graphics' },
  ])
  t.throws(() => parseParsable('only|two\n', ['A', 'B', 'C'] as const), SacctmgrParseError)
})
