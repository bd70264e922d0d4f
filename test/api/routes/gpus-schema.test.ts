/**
 * GET /v1/clusters/{c}/gpus sends bytes serialized once per read and scope (visibleGpus),
 * so Fastify's response schema no longer shapes them: here the bytes each role gets are
 * checked against the route's declared schema (GpusResponse) made strict, every object
 * without properties it does not declare. A field the reader adds (a node list, anything
 * internal) would reach every token unseen; this test fails then, as its second part shows.
 */
import t from 'tap'
import { Kind, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { createClusterStateService, type ClusterStateService } from '../../../src/cluster-state/read.js'
import { GpusResponse } from '../../../src/api/routes/cluster-state.js'
import { seeded } from '../helpers.js'
import { replayExecutor, SCONTROL_NODES } from '../../support/replay-slurm.js'

/** `schema` with `additionalProperties: false` on every object in it (TypeBox's kinds kept). */
function strict<T extends TSchema>(schema: T): T {
  const s = schema as TSchema & { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[]; allOf?: TSchema[] }
  const out: Record<string | symbol, unknown> = { ...s }
  if (s[Kind] === 'Object' && s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, strict(v)]))
    out.additionalProperties = false
  }
  if (s.items) out.items = strict(s.items)
  if (s.anyOf) out.anyOf = s.anyOf.map(strict)
  if (s.allOf) out.allOf = s.allOf.map(strict)
  return out as unknown as T
}

const STRICT = strict(GpusResponse)
const replay = replayExecutor((argv) => (argv.includes('scontrol') ? SCONTROL_NODES : ''))

/** The first difference between `body` and the strict schema, or undefined when it fits. */
const misfit = (body: unknown): string | undefined => {
  const e = Value.Errors(STRICT, body).First()
  return e ? `${e.path || '/'}: ${e.message}` : undefined
}

t.test('the strict schema still refuses what the declared one refuses, and more', async (t) => {
  t.ok(Value.Check(GpusResponse, { cluster: 'c', readAt: 'x', cacheSeconds: 1, gpus: [], partitions: [], extra: 1 }), 'TypeBox objects allow more properties by default')
  t.equal(misfit({ cluster: 'c', readAt: 'x', cacheSeconds: 1, gpus: [], partitions: [], extra: 1 }), '/extra: Unexpected property')
  t.match(misfit({ cluster: 'c', readAt: 'x', cacheSeconds: 1, gpus: [], partitions: [{ partition: 'p', nodes: { idle: 1, mixed: 0, allocated: 0, drained: 0, down: 0, other: 0, names: [] } }] }), /^\/partitions\/0\/nodes\/names/)
  t.match(misfit({ cluster: 'c', readAt: 'x', cacheSeconds: 1, gpus: [] }), /partitions/)
})

t.test('/gpus sends exactly its schema to an admin, a department admin and a researcher', async (t) => {
  const s = await seeded(undefined, { clusterState: createClusterStateService({ executorFor: async () => replay, cacheMs: 60_000 }) })
  t.teardown(() => s.app.close())
  for (const [who, partitions] of [['admin', ['cv', 'dl', 'nlp', 'scavenger']], ['nlp', ['nlp', 'scavenger']], ['frank', ['dl', 'scavenger']]] as const) {
    const r = await s.as(who, { method: 'GET', url: '/v1/clusters/campus/gpus' })
    t.equal(r.statusCode, 200, r.body)
    const body = JSON.parse(r.rawPayload.toString('utf8')) as { gpus: unknown[]; partitions: Array<{ partition: string }> }
    t.equal(misfit(body), undefined, `${who}: the bytes fit GpusResponse, nothing more`)
    t.same(body.partitions.map((p) => p.partition), partitions, `${who}: their partitions`)
    t.ok(body.gpus.length > 0, `${who}: GPU rows checked`)
  }
})

t.test('a field the reader adds would leak through the pre-serialized bytes: the check catches it', async (t) => {
  const real = createClusterStateService({ executorFor: async () => replay, cacheMs: 60_000 })
  const leaky: ClusterStateService = {
    ...real,
    cacheSeconds: real.cacheSeconds,
    async gpus(cluster) {
      const state = await real.gpus(cluster)
      return { ...state, gpus: state.gpus.map((g) => ({ ...g, nodeNames: ['gpu-h100-001'] })) }
    },
  }
  const s = await seeded(undefined, { clusterState: leaky })
  t.teardown(() => s.app.close())
  for (const who of ['admin', 'nlp', 'frank'] as const) {
    const r = await s.as(who, { method: 'GET', url: '/v1/clusters/campus/gpus' })
    t.match(misfit(JSON.parse(r.rawPayload.toString('utf8'))), /^\/gpus\/0\/nodeNames: Unexpected property/, `${who}: the leak is caught`)
  }
})
