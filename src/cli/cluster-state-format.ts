/**
 * How `steward gpus`, `reliability` and `whoami` print, the same whether the answer came
 * from the controller (local) or from the service (--server).
 */
import type { UsageView } from '../budgets/view.js'
import type { GpusResponse, ReliabilityResponse } from '../api/routes/cluster-state.js'
import type { Me } from '../me/me.js'

/** Columns padded to their widest cell, like `sky show-gpus`. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n')
}

const dash = (n: number | null | undefined, digits = 1): string => (typeof n === 'number' ? n.toFixed(digits) : '-')

export function formatGpus(g: Pick<GpusResponse, 'gpus' | 'readAt'>): string {
  if (g.gpus.length === 0) return 'No GPUs in the partitions you may see.'
  const rows = g.gpus.map((r) => [
    r.partition, r.type || '-', r.total, r.allocated, r.free, r.unavailable,
    r.shards.total > 0 ? `${r.shards.free}/${r.shards.total}` : '-',
    r.mps.total > 0 ? `${r.mps.free}/${r.mps.total}` : '-',
    `${r.nodes.idle} idle, ${r.nodes.mixed} mixed, ${r.nodes.allocated} alloc, ${r.nodes.drained} drained, ${r.nodes.down} down`,
  ])
  return `${table(['PARTITION', 'GPU', 'TOTAL', 'ALLOCATED', 'FREE', 'UNAVAILABLE', 'SHARDS_FREE', 'MPS_FREE', 'NODES'], rows)}\n(read from Slurm at ${g.readAt})`
}

export function formatReliability(r: Omit<ReliabilityResponse, 'cluster'>): string {
  const job = r.groups.find((g) => g.job)?.job
  const header = ['GROUP', 'NODES', 'FAILURES', 'PLANNED', 'NODE_HOURS', 'FAIL/NODE_H', 'MTBF_H', 'MTTR_H', ...(job ? [`JOB(${job.nodes})_MTBF_H`, 'CKPT_EVERY_H'] : []), 'UNHEALTHY']
  const rows = r.groups.map((g) => [
    g.group, g.nodes, g.failures, g.planned, dash(g.inServiceNodeHours), g.failureRatePerNodeHour.toExponential(2), dash(g.mtbfHours), dash(g.mttrHours, 2),
    ...(job ? [dash(g.job?.meanHoursBetweenFailures, 2), dash(g.job?.dalyIntervalHours, 2)] : []),
    g.unhealthy.length,
  ])
  return `${table(header, rows)}\nwindow ${r.window.from} .. ${r.window.to}; ${r.rule}`
}

export function formatMe(me: Me): string {
  const lines: string[] = []
  lines.push(me.user ? `${me.user.name} (uid ${me.user.uid}) on ${me.cluster}, home ${me.user.home}` : `${me.role}${me.departments.length ? ` of ${me.departments.join(', ')}` : ''} on ${me.cluster}`)
  if (me.accounts.length) lines.push(`accounts: ${me.accounts.map((a) => `${a.name}${a.default ? ' (default)' : ''}`).join(', ')}`)
  for (const q of me.qos) lines.push(`qos ${q.name}: ${q.limits.join(', ')}`)
  lines.push(`partitions: ${me.partitions.map((p) => `${p.name}${p.maxTime ? ` (jobs up to ${p.maxTime})` : ''}`).join(', ') || 'none'}`)
  for (const p of me.login.pools) lines.push(`log in (${p.name}): ${p.how}`)
  if (me.login.sessionManager) lines.push(`Session Manager: runs as ${me.login.sessionManager.runAs}`)
  if (!me.usage.available) lines.push(`usage: ${'message' in me.usage ? String(me.usage.message) : ''}`)
  else {
    const u = me.usage as Partial<UsageView>
    if (u.total) lines.push(`usage ${u.month}: ${u.total.jobs} jobs, ${u.total.gpuHours} GPU-hours, ${u.total.cpuHours} CPU-hours, cost ${u.total.cost} ${u.currency}`)
    for (const b of u.budgets ?? []) lines.push(`budget ${b.department}: ${b.spend} of ${b.budget} ${u.currency} (${b.percent} %)${b.crossed.length ? `, crossed ${b.crossed.map((c) => `${c} %`).join(', ')}` : ''}${b.action ? `, ${b.action} in force` : ''}`)
  }
  return lines.join('\n')
}
