/**
 * Reading `scontrol -o show node|partition|job` one-line records, and judging node states.
 * Pure string code.
 */

/**
 * One `scontrol -o` record as `Key -> value`. Values may hold spaces (`OS=Linux 6.1 #1
 * SMP`, `Reason=not emulated [root@...]`): a value runs up to the next ` Key=`. The first
 * occurrence of a repeated key wins.
 */
export function parseRecord(line: string): Map<string, string> {
  const record = new Map<string, string>()
  const keys = [...line.matchAll(/(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=/g)]
  keys.forEach((m, i) => {
    const key = m[1] as string
    const start = (m.index ?? 0) + m[0].length
    const end = i + 1 < keys.length ? (keys[i + 1]?.index ?? line.length) : line.length
    if (!record.has(key)) record.set(key, line.slice(start, end).trim())
  })
  return record
}

/** Every record of `scontrol -o show ...` output (one per non-empty line). */
export function parseRecords(text: string): Array<Map<string, string>> {
  return text.split('\n').filter((l) => l.trim() !== '' && !/^No \w+ in the system/.test(l)).map(parseRecord)
}

/** A node `State=` split into its base state and flags: `IDLE+DRAIN` -> IDLE, [DRAIN]. */
export function nodeState(state: string): { base: string; flags: string[] } {
  const [base = '', ...flags] = state.replace(/\*$/, '+NOT_RESPONDING').split('+')
  return { base, flags }
}

const USABLE = new Set(['IDLE', 'MIXED', 'ALLOCATED', 'COMPLETING'])
const UNUSABLE_FLAGS = new Set(['DRAIN', 'NOT_RESPONDING', 'FAIL', 'POWERED_DOWN', 'POWERING_DOWN', 'POWERING_UP', 'REBOOT_REQUESTED', 'REBOOT_ISSUED', 'INVALID_REG'])

/** Whether a node in this state can run jobs (registered, responding, not drained). */
export function nodeUsable(state: string): boolean {
  const { base, flags } = nodeState(state)
  return USABLE.has(base) && !flags.some((f) => UNUSABLE_FLAGS.has(f))
}

/** Whether a node is down or drained (as the sandbox wants nodes it does not emulate). */
export function nodeDown(state: string): boolean {
  const { base, flags } = nodeState(state)
  return base === 'DOWN' || flags.includes('DRAIN') || base === 'FUTURE'
}
