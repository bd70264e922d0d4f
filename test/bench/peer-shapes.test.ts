/**
 * The two descriptions of each benchmark shape must describe the same cluster, and ours
 * must be a valid spec, or the side-by-side comparison with ParallelCluster means nothing.
 */
import t from 'tap'
import { PEER_SHAPES, pclusterConfigForShape, pclusterInstanceTypes, stewardSpecForShape } from '../../bench/peer-shapes.js'
import { generatorDir } from '../../bench/peer.js'
import { validateSpec } from '../../src/spec/validate.js'
import { renderCluster } from '../../src/slurm/render.js'
import { expandHostlist } from '../../src/slurm/hostlist.js'

interface PcQueue { Name: string; ComputeResources: Array<{ Name: string; InstanceType: string; MinCount: number; MaxCount: number }> }

for (const shape of PEER_SHAPES) {
  t.test(`${shape.name}: our spec is valid and names ParallelCluster's nodes`, async (t) => {
    const spec = stewardSpecForShape(shape)
    const result = validateSpec(spec)
    t.ok(result.ok, JSON.stringify(result.errors.slice(0, 3)))
    const queues = (pclusterConfigForShape(shape) as { Scheduling: { SlurmQueues: PcQueue[] } }).Scheduling.SlurmQueues
    t.equal(queues.length, shape.queues)
    // ParallelCluster names static nodes <queue>-st-<resource>-[1-MinCount].
    const pcNodes = queues.flatMap((q) => q.ComputeResources.flatMap((c) => expandHostlist(`${q.Name}-st-${c.Name}-[1-${c.MinCount}]`)))
    const ourNodes = spec.nodeGroups.flatMap((g) => expandHostlist(g.nodes))
    t.equal(ourNodes.length, shape.queues * shape.computeResources * shape.nodesPerResource)
    t.same(ourNodes, pcNodes)
    t.same(spec.sharedPartitions?.map((p) => p.name), queues.map((q) => q.Name), 'one partition per queue')
    const types = pclusterInstanceTypes()
    for (const q of queues) for (const c of q.ComputeResources) t.ok(types[c.InstanceType], `${c.InstanceType} has instance-type data`)
    const conf = renderCluster(spec).find((f) => f.name === 'slurm.conf')?.content ?? ''
    t.match(conf, /PartitionName=q1 /)
  })
}

t.test('the peer is found in a cookbook checkout or its generator directory, or not at all', async (t) => {
  t.equal(generatorDir('/nonexistent'), undefined)
})
