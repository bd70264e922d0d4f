/**
 * Spec work off the event loop: validating or rendering a spec costs time in proportion
 * to it (a 1 MB spec takes a few hundred milliseconds), and the service must keep
 * answering other requests meanwhile. A small pool of worker threads runs the jobs; the
 * queue is bounded (`SpecPoolBusyError` when full) and a job over its time limit ends
 * its worker (`SpecPoolTimeoutError`), which is then replaced.
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { projectRoot } from '../project-root.js'
import { SpecInvalidError, SpecUnreadableError, type Problem } from './problems.js'

/** One job: the request body's text, how to read it and what to do with it. */
export interface SpecJob {
  id: number
  op: 'validate' | 'render'
  format: 'json' | 'yaml'
  text: string
}

/** A worker's answer: the value as JSON text, or an error by name. */
export type SpecJobResult =
  | { id: number; ok: true; json: string }
  | { id: number; ok: false; error: { name: string; message: string; problems?: Problem[]; kind?: 'structure' | 'semantic' } }

/** The queue is full: the client should retry later. */
export class SpecPoolBusyError extends Error {
  override name = 'SpecPoolBusyError'
}

/** A job ran past its time limit; its worker was stopped. */
export class SpecPoolTimeoutError extends Error {
  override name = 'SpecPoolTimeoutError'
}

export interface SpecPoolOptions {
  /** Worker threads (default 1: the event loop keeps the other core on a 2-core host). */
  size?: number
  /** Jobs waiting beyond the running ones before `SpecPoolBusyError` (default 32). */
  maxQueue?: number
  /** Time limit of one job (default 10 s). */
  timeoutMs?: number
}

export interface SpecPool {
  /** The job's result as JSON text (parse it, or send it as a response body as it is). */
  run(op: SpecJob['op'], format: SpecJob['format'], text: string): Promise<string>
  close(): Promise<void>
}

interface Pending {
  job: SpecJob
  resolve: (json: string) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  current?: Pending
  timer?: NodeJS.Timeout
}

/**
 * The compiled worker script. From dist/ it sits beside this module; from the TypeScript
 * sources (tests) it is the built copy in dist/, so `npm run build` must have run.
 */
function workerScript(): URL {
  const here = new URL('./worker.js', import.meta.url)
  if (existsSync(fileURLToPath(here))) return here
  const built = join(projectRoot(), 'dist', 'src', 'spec', 'worker.js')
  if (!existsSync(built)) throw new Error(`the spec worker ${built} is missing: run npm run build`)
  return new URL(`file://${built}`)
}

function rebuild(error: Extract<SpecJobResult, { ok: false }>['error']): Error {
  if (error.name === 'SpecInvalidError') return new SpecInvalidError(error.problems ?? [], error.kind)
  if (error.name === 'SpecUnreadableError') return new SpecUnreadableError(error.message)
  return new Error(`spec worker: ${error.message}`)
}

/** Creates the pool; workers start on the first job. */
export function createSpecPool(options: SpecPoolOptions = {}): SpecPool {
  const size = options.size ?? 1
  const maxQueue = options.maxQueue ?? 32
  const timeoutMs = options.timeoutMs ?? 10_000
  const slots: Slot[] = []
  const queue: Pending[] = []
  let nextId = 1
  let closed = false

  function start(): Slot {
    // Workers inherit no loader flags: the script is plain JavaScript from dist/.
    const slot: Slot = { worker: new Worker(workerScript(), { execArgv: [] }) }
    slot.worker.on('message', (result: SpecJobResult) => finish(slot, result))
    slot.worker.on('error', (err) => fail(slot, err))
    slot.worker.on('exit', () => fail(slot, new Error('the spec worker exited')))
    slot.worker.unref()
    slots.push(slot)
    return slot
  }

  function finish(slot: Slot, result: SpecJobResult): void {
    const pending = slot.current
    if (!pending || pending.job.id !== result.id) return
    clearTimeout(slot.timer)
    slot.current = undefined
    if (result.ok) pending.resolve(result.json)
    else pending.reject(rebuild(result.error))
    dispatch()
  }

  /** A worker died or was stopped: fail its job, drop it, and carry on with a new one. */
  function fail(slot: Slot, err: Error): void {
    const index = slots.indexOf(slot)
    if (index === -1) return
    slots.splice(index, 1)
    clearTimeout(slot.timer)
    slot.current?.reject(err)
    slot.current = undefined
    if (!closed) dispatch()
  }

  function dispatch(): void {
    while (queue.length > 0 && !closed) {
      let slot = slots.find((s) => !s.current)
      if (!slot && slots.length < size) slot = start()
      if (!slot) return
      const pending = queue.shift() as Pending
      slot.current = pending
      const running = slot
      slot.timer = setTimeout(() => {
        fail(running, new SpecPoolTimeoutError(`the spec took longer than ${timeoutMs} ms to ${pending.job.op}`))
        void running.worker.terminate()
      }, timeoutMs)
      slot.worker.postMessage(pending.job)
    }
  }

  return {
    run(op, format, text) {
      if (closed) return Promise.reject(new Error('the spec pool is closed'))
      if (queue.length >= maxQueue) return Promise.reject(new SpecPoolBusyError(`${queue.length} spec jobs are waiting already; try again shortly`))
      return new Promise((resolve, reject) => {
        queue.push({ job: { id: nextId++, op, format, text }, resolve, reject })
        dispatch()
      })
    },
    async close() {
      closed = true
      for (const pending of queue.splice(0)) pending.reject(new Error('the spec pool is closed'))
      await Promise.all(slots.splice(0).map((s) => { clearTimeout(s.timer); return s.worker.terminate() }))
    },
  }
}
