/**
 * The worker thread behind `createSpecPool`: parses, validates and renders spec text off
 * the service's event loop. Messages are plain data; errors go back by name with their
 * problems so the pool can rebuild them.
 */
import { parentPort } from 'node:worker_threads'
import { acceptSpec, parseSpecBody } from './load.js'
import { SpecInvalidError, SpecUnreadableError } from './problems.js'
import { validateSpec } from './validate.js'
import { renderCluster } from '../slurm/render.js'
import type { SpecJob, SpecJobResult } from './pool.js'

function run(job: SpecJob): unknown {
  const value = parseSpecBody(job.text, job.format)
  if (job.op === 'validate') return validateSpec(value)
  // Any invalid spec is a 400 on render: the route only says whether the body renders.
  try {
    const loaded = acceptSpec(value)
    return { hash: loaded.hash, warnings: loaded.warnings, files: renderCluster(loaded.spec) }
  } catch (err) {
    if (err instanceof SpecInvalidError) throw new SpecInvalidError(err.problems, 'structure')
    throw err
  }
}

parentPort?.on('message', (job: SpecJob) => {
  let reply: SpecJobResult
  try {
    // Serialised here too: a render answer can be megabytes, and the event loop only copies it.
    reply = { id: job.id, ok: true, json: JSON.stringify(run(job)) }
  } catch (err) {
    const e = err as Error
    reply = {
      id: job.id,
      ok: false,
      error: err instanceof SpecInvalidError
        ? { name: 'SpecInvalidError', message: e.message, problems: err.problems, kind: err.kind }
        : { name: err instanceof SpecUnreadableError ? 'SpecUnreadableError' : 'Error', message: e.message },
    }
  }
  parentPort?.postMessage(reply)
})
