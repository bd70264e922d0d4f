/**
 * Applying a plan: each operation's argv through the Executor, in order, stopping at the
 * first failure. There is no rollback of accounting: every step is a small, valid state
 * on its own (the plan's order guarantees that), so the next plan simply continues from
 * wherever the cluster is.
 */
import type { ExecResult, Executor } from '../adapters/executor.js'
import type { Operation, Plan } from './operations.js'

/** Progress events for a terminal or a log. */
export interface ApplyProgress {
  onStart?(op: Operation, index: number, total: number): void
  onDone?(op: Operation, index: number, total: number, result: ExecResult, ms: number): void
}

/** The outcome of an apply. */
export interface ApplyResult {
  ok: boolean
  /** Operations that ran successfully, in order. */
  done: Operation[]
  /** The step that failed, with what the command said. */
  failed?: { operation: Operation; result: ExecResult | undefined; error?: Error | undefined }
  /** Operations not run because of the failure. */
  remaining: Operation[]
}

/**
 * A step succeeded when it exited 0 and, for sacctmgr, said nothing on stderr: sacctmgr
 * 22.05 refuses some changes (a DefaultQOS an association cannot use) with exit 0 and
 * the reason on stderr. useradd's warnings (an existing home) are not failures.
 */
export function succeeded(result: ExecResult): boolean {
  if (result.code !== 0) return false
  return result.argv[0] !== 'sacctmgr' || result.stderr.trim() === ''
}

/** Runs a plan's operations in order; stops at the first failure. */
export async function applyPlan(executor: Executor, plan: Plan, progress: ApplyProgress = {}, timeoutMs = 600_000): Promise<ApplyResult> {
  const ops = plan.operations
  const done: Operation[] = []
  for (const [i, op] of ops.entries()) {
    progress.onStart?.(op, i, ops.length)
    const started = performance.now()
    let result: ExecResult | undefined
    try {
      result = await executor.run(op.argv, { timeoutMs })
    } catch (err) {
      return { ok: false, done, failed: { operation: op, result: undefined, error: err as Error }, remaining: ops.slice(i + 1) }
    }
    progress.onDone?.(op, i, ops.length, result, performance.now() - started)
    if (!succeeded(result)) return { ok: false, done, failed: { operation: op, result }, remaining: ops.slice(i + 1) }
    done.push(op)
  }
  return { ok: true, done, remaining: [] }
}
