import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { resolvePartitions } from '../../src/spec/model.js'
import { groupBillingWeights, partitionBillingWeights } from '../../src/usage/billing-weights.js'
import { renderCluster } from '../../src/slurm/render.js'

function spec(): ClusterSpec {
  const s = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
  s.pricing = { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } }
  return s
}

t.test('weights bill a whole node-hour at exactly the price, in 1/10,000 of the currency', async (t) => {
  const s = spec()
  const [h100, a10g, cpu] = s.nodeGroups
  t.equal(groupBillingWeights(s, h100!), 'GRES/gpu=122900', '8 GPUs x 122900 = 983200 = 98.32')
  t.equal(groupBillingWeights(s, a10g!), 'GRES/gpu=14180')
  t.equal(groupBillingWeights(s, cpu!), 'CPU=318.75,Mem=0.17', '96 x 318.75 = 180000 x 0.17 = 30600 = 3.06')
  delete s.pricing!.nodeGroups['cpu']
  t.equal(groupBillingWeights(s, cpu!), undefined)
})

t.test('a partition gets weights only when its node groups agree; MAX_TRES only with pricing', async (t) => {
  const s = spec()
  s.sharedPartitions!.push({ name: 'cpuonly', nodeGroups: ['cpu'], departments: 'all' })
  const groups = new Map(s.nodeGroups.map((g) => [g.name, g]))
  const weights = Object.fromEntries(resolvePartitions(s).map((r) => [r.partition.name, partitionBillingWeights(s, r, groups)]))
  t.same(weights, { nlp: 'GRES/gpu=122900', cv: 'GRES/gpu=14180', dl: undefined, scavenger: undefined, cpuonly: 'CPU=318.75,Mem=0.17' })
  const conf = renderCluster(s).find((f) => f.name === 'slurm.conf')!.content
  t.match(conf, /^PartitionName=cpuonly .* TRESBillingWeights=CPU=318\.75,Mem=0\.17 /m)
  t.match(conf, /^PriorityFlags=MAX_TRES$/m)
  delete s.pricing
  t.notMatch(renderCluster(s).find((f) => f.name === 'slurm.conf')!.content, /TRESBillingWeights|MAX_TRES/)
})
