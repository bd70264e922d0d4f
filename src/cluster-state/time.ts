/** Times as Slurm's commands take them. */

/** `2026-12-01T16:50:00` in UTC (the reads run with TZ=UTC), whole seconds. */
export function formatIsoSeconds(date: Date): string {
  return date.toISOString().slice(0, 19)
}
