import { readFileSync } from 'node:fs'
import t from 'tap'
import { NodeStateParseError, parseNodes, stateName, summarizeGpus } from '../../src/cluster-state/gpus.js'

// Captured from the sandbox (Slurm 22.05.8) during three jobs: 3 H100 GPUs on
// gpu-h100-001, 1 A10G GPU and 3 shards on gpu-a10g-01; gpu-a10g-02 drained by an admin.
const fixture = readFileSync(new URL('./fixtures/scontrol-nodes-22.05.txt', import.meta.url), 'utf8')

t.test('node states map to the five the dashboard shows', async (t) => {
  const cases: Array<[string, string]> = [
    ['IDLE', 'idle'], ['MIXED', 'mixed'], ['ALLOCATED', 'allocated'], ['COMPLETING', 'allocated'],
    ['IDLE+DRAIN', 'drained'], ['MIXED+DRAIN', 'drained'], ['DRAINED', 'drained'], ['DOWN', 'down'],
    ['DOWN+NOT_RESPONDING', 'down'], ['IDLE*', 'down'], ['FUTURE', 'other'],
  ]
  for (const [slurm, expected] of cases) t.equal(stateName(slurm), expected, slurm)
})

t.test('GPUs and shards allocated are read from AllocTRES, not from 22.05\'s GresUsed for shards', async (t) => {
  const nodes = parseNodes(fixture)
  const a10g = nodes.find((n) => n.name === 'gpu-a10g-01')
  t.same([...(a10g?.gpus ?? [])], [['a10g', 4]])
  t.same([...(a10g?.gpusAllocated ?? [])], [['a10g', 1]])
  t.equal(a10g?.shards, 16)
  t.equal(a10g?.shardsAllocated, 3, 'AllocTRES says gres/shard=3 where GresUsed says shard:a10g:1')
  const h100 = nodes.find((n) => n.name === 'gpu-h100-001')
  t.same([...(h100?.gpusAllocated ?? [])], [['h100', 3]])
  t.equal(nodes.find((n) => n.name === 'cpu-001')?.gpus.size, 0, 'a CPU node has no GPUs (Gres=(null))')
  t.equal(nodes.find((n) => n.name === 'gpu-a10g-02')?.state, 'drained')
})

t.test('per partition and type: total, allocated, free, unavailable on drained and down nodes, shards', async (t) => {
  const summary = summarizeGpus(parseNodes(fixture))
  const cv = summary.gpus.find((r) => r.partition === 'cv' && r.type === 'a10g')
  // gpu-a10g-01 (mixed, 1 GPU + 3 shards used), -02 (drained), -03 (down)
  t.match(cv, { total: 12, allocated: 1, free: 3, unavailable: 8, shards: { total: 48, allocated: 3, free: 13 }, nodes: { mixed: 1, drained: 1, down: 1, idle: 0 } })
  const nlp = summary.gpus.find((r) => r.partition === 'nlp' && r.type === 'h100')
  t.match(nlp, { total: 24, allocated: 3, free: 13, unavailable: 8, shards: { total: 0 } })
  t.notOk(summary.gpus.some((r) => r.type === ''), 'CPU nodes make no GPU row')
  t.match(summary.partitions.find((p) => p.partition === 'dl'), { nodes: { idle: 2, mixed: 1, down: 2 } })
})

t.test('typed AllocTRES entries win, and an untyped count on a node with two types is not guessed', async (t) => {
  const line = 'NodeName=n1 Gres=gpu:a100:2,gpu:v100:2 GresUsed=gpu:a100:1(IDX:0),gpu:v100:2(IDX:2-3) State=MIXED Partitions=p AllocTRES=cpu=4,gres/gpu=3,gres/gpu:a100=1,gres/gpu:v100=2'
  const [n] = parseNodes(line)
  t.same([...(n?.gpusAllocated ?? [])], [['a100', 1], ['v100', 2]])
  const noTres = parseNodes('NodeName=n2 Gres=gpu:a100:2,gpu:v100:2 GresUsed=gpu:a100:1(IDX:0),gpu:v100:0 State=MIXED Partitions=p AllocTRES=cpu=4')[0]
  t.same([...(noTres?.gpusAllocated ?? [])], [['a100', 1], ['v100', 0]], 'without GRES in AllocTRES, GresUsed is read')
})

t.test('a record without NodeName is refused with a named error', async (t) => {
  t.throws(() => parseNodes('Gres=gpu:2 State=IDLE'), NodeStateParseError)
})
