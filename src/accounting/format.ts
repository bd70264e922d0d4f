/**
 * Human and JSON renderings of a plan for review. Pure: they return text; the CLI prints.
 */
import type { Plan } from './operations.js'

const ACTION_MARK = { add: '+', modify: '~', delete: '-' } as const

/** A plan as a table: one line per step (mark, phase, sentence) and its command below. */
export function formatPlan(plan: Plan, withCommands = true): string {
  if (plan.operations.length === 0) return `cluster ${plan.cluster}: accounting matches the spec, nothing to do\n`
  const width = Math.max(...plan.operations.map((o) => o.phase.length))
  const lines = [`cluster ${plan.cluster}: ${plan.operations.length} step(s)`]
  plan.operations.forEach((op, i) => {
    lines.push(`${String(i + 1).padStart(4)} ${ACTION_MARK[op.action]} ${op.phase.padEnd(width)}  ${op.summary}`)
    if (withCommands) lines.push(`${' '.repeat(9 + width)}$ ${shortArgv(op.argv)}`)
  })
  const counts = { add: 0, modify: 0, delete: 0 }
  for (const op of plan.operations) counts[op.action] += 1
  lines.push(`${counts.add} to add, ${counts.modify} to change, ${counts.delete} to remove`)
  return `${lines.join('\n')}\n`
}

/** An argv for display; very long name lists are cut (the JSON output has them whole). */
export function shortArgv(argv: readonly string[], max = 160): string {
  return argv.map((a) => (a.length > max ? `${a.slice(0, max)}...(${a.length} chars)` : /\s/.test(a) ? `'${a}'` : a)).join(' ')
}

/** The plan as JSON for machines (the REST API returns the same shape). */
export function planToJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`
}
