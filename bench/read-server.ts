/**
 * The service for the read benchmark, in its own process (bench/reads.ts starts it):
 * a store in a temporary directory with examples/campus.yaml seeded and one admin
 * token; prints `{"address", "secret"}` on one line once it listens, stops on SIGTERM.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { buildApp } from '../src/api/app.js'
import { createRevisionService } from '../src/revisions/service.js'
import { seedCluster } from '../src/revisions/seed.js'
import { createStore } from '../src/store/index.js'
import { hashTokenSecret, newTokenSecret } from '../src/auth/tokens.js'
import { projectRoot } from '../src/project-root.js'
import type { ClusterSpec } from '../src/spec/schema.js'

const dir = mkdtempSync(join(tmpdir(), 'steward-bench-reads-'))
const store = await createStore({ dataDir: dir })
const app = await buildApp({ store }, { logger: false })
const secret = newTokenSecret()
await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'bench', createdBy: 'bench' })
const spec = parse(readFileSync(join(projectRoot(), 'examples', 'campus.yaml'), 'utf8')) as ClusterSpec
await seedCluster(store, createRevisionService(store), spec, { description: 'bench', source: 'bench', message: 'bench' })
const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ address, secret })}\n`)
process.once('SIGTERM', () => {
  void app.close().then(() => store.close()).finally(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
})
