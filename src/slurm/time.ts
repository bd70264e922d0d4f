/**
 * Slurm time strings (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`,
 * `UNLIMITED`), parsed to seconds and printed the way Slurm prints them, so that a value
 * read back from `sacctmgr` or `scontrol` compares equal to the one in the spec.
 */

export const UNLIMITED = 'UNLIMITED'

/** Thrown for a time string Slurm would not accept. */
export class SlurmTimeError extends Error {
  override name = 'SlurmTimeError'
}

/**
 * Seconds in a Slurm time, or `null` for UNLIMITED / INFINITE. A number is minutes, as in
 * Slurm (`--time=60` is an hour).
 */
export function timeToSeconds(value: string | number): number | null {
  if (typeof value === 'number') return value * 60
  const text = value.trim()
  if (/^(?:UNLIMITED|INFINITE)$/i.test(text)) return null
  const days = /^(\d+)-(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?$/.exec(text)
  if (days) {
    const [, d, h, m, s] = days
    return ((Number(d) * 24 + Number(h)) * 60 + Number(m ?? 0)) * 60 + Number(s ?? 0)
  }
  const parts = /^(\d+)(?::(\d{1,2}))?(?::(\d{1,2}))?$/.exec(text)
  if (!parts) throw new SlurmTimeError(`"${value}" is not a Slurm time: use MM, HH:MM:SS, D-HH, D-HH:MM:SS or UNLIMITED`)
  const [, a, b, c] = parts
  if (c !== undefined) return (Number(a) * 60 + Number(b)) * 60 + Number(c)
  if (b !== undefined) return Number(a) * 60 + Number(b)
  return Number(a) * 60
}

/** Slurm's canonical print of a duration: `D-HH:MM:SS`, or `HH:MM:SS` under a day. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return UNLIMITED
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  const hms = [h, m, s].map((n) => String(n).padStart(2, '0')).join(':')
  return d > 0 ? `${d}-${hms}` : hms
}

/** A spec time in Slurm's canonical form. */
export function formatTime(value: string | number): string {
  return formatSeconds(timeToSeconds(value))
}
