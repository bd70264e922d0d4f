/**
 * Reading `scontrol -o show node|partition|job` one-line records, and judging node states.
 * Pure string code.
 */

// The record parsers are Slurm knowledge shared with the apply engine's verification.
export { parseRecord, parseRecords } from '../slurm/conf-parse.js'

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
