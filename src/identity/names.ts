/**
 * POSIX names of directory users, by the spec's `identity.username` rule:
 * `local-part` (`Alice.Smith@uni.edu` -> `alice_smith`) or `attribute:<name>` (taken as
 * it is). The result is checked against the user-name allowlist, never repaired further:
 * a name that still breaks it is refused with the reason.
 */
import { USER_NAME_RE } from '../spec/names.js'
import type { DirectoryUser } from './source.js'

/** A derived name, or why there is none; `missing` means the source lacks the value (a malformed source). */
export type NameResult = { name: string } | { refused: string } | { missing: string }

/** The local part of an address, lower-cased, with dots made `_` (`Alice.Smith@uni.edu` -> `alice_smith`). */
export function localPart(value: string): string {
  const at = value.indexOf('@')
  return (at >= 0 ? value.slice(0, at) : value).toLowerCase().replaceAll('.', '_')
}

/** The POSIX name of `user` under `rule` (`local-part` when absent). */
export function posixName(user: DirectoryUser, rule = 'local-part'): NameResult {
  const attribute = rule.startsWith('attribute:') ? rule.slice('attribute:'.length) : undefined
  const raw = attribute === undefined ? user.userName : user.attributes[attribute]
  if (raw === undefined || raw.trim() === '') return { missing: attribute === undefined ? 'the user has no user name' : `the user has no attribute "${attribute}"` }
  const name = attribute === undefined ? localPart(raw.trim()) : raw.trim()
  if (USER_NAME_RE.test(name)) return { name }
  const printable = JSON.stringify(raw)
  if (name.length > 32) return { refused: `${printable} gives "${name}", longer than the 32 characters of a POSIX user name` }
  return { refused: `${printable} gives ${JSON.stringify(name)}, not a POSIX user name (lower-case letters, digits, _ and -, not starting with a digit or -)` }
}
