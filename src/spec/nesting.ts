/**
 * Nesting limits for spec text, checked before any parser sees it. A spec is about seven
 * levels deep; a body of a million `[` is an attack: `JSON.parse` builds it, but every
 * recursive step after it (the YAML composer, `JSON.stringify` in an error message) then
 * overflows the stack, and the YAML parser spends seconds before failing. A linear scan
 * of the text refuses such input at once with a clear message.
 */
import { SpecUnreadableError } from './problems.js'

/** Deepest nesting accepted in a spec or request body (a spec needs about seven levels). */
export const MAX_NESTING = 64
/** Widest block indentation accepted in YAML: each block level needs at least one column. */
export const MAX_INDENT = 256

function tooDeep(source: string, depth: number, line: number): SpecUnreadableError {
  return new SpecUnreadableError(`${source} is nested more than ${MAX_NESTING} levels deep (at line ${line}, depth ${depth}); a spec needs about seven`)
}

/** Refuses JSON text whose arrays and objects nest deeper than `MAX_NESTING` (strings skipped exactly). */
export function checkJsonNesting(text: string, source = 'spec'): void {
  let depth = 0
  let line = 1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) { // a string: skip to its closing quote, honouring escapes
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++
    } else if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > MAX_NESTING) throw tooDeep(source, depth, line)
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    } else if (c === 0x0a) {
      line++
    }
  }
}

/**
 * Refuses YAML (or JSON) text nested deeper than the limits: flow collections (`[`, `{`)
 * deeper than `MAX_NESTING`, or a block node indented, counting compact `- ` and `? `
 * entries, past `MAX_INDENT` columns. Quoted strings and comments are skipped; a `[` or
 * `{` inside a plain scalar of block context (`description: a[b`) does not open anything.
 */
export function checkYamlNesting(text: string, source = 'spec'): void {
  let flow = 0
  let line = 1
  let lineStart = true
  let previous = 0x0a // last character that is not a space or tab
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i)
    if (lineStart && flow === 0) {
      // Leading indentation and compact block entries ("- - - x") of one line.
      let column = 0
      while (i < text.length) {
        c = text.charCodeAt(i)
        const next = text.charCodeAt(i + 1)
        if (c === 0x20 || c === 0x09) { column++; i++ }
        else if ((c === 0x2d || c === 0x3f) && (next === 0x20 || next === 0x09)) { column += 2; i += 2; previous = c }
        else break
      }
      if (column > MAX_INDENT) throw new SpecUnreadableError(`${source} is indented more than ${MAX_INDENT} columns at line ${line}: it is nested too deeply for a spec`)
      lineStart = false
      if (i >= text.length) break
    }
    if (c === 0x0a) {
      line++
      lineStart = true
      previous = 0x0a
      continue
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d) continue
    if (c === 0x23 && (previous === 0x0a || text.charCodeAt(i - 1) === 0x20 || text.charCodeAt(i - 1) === 0x09)) {
      while (i + 1 < text.length && text.charCodeAt(i + 1) !== 0x0a) i++ // a comment
      continue
    }
    if (c === 0x22) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) i++
        else if (text.charCodeAt(i) === 0x0a) line++
      }
    } else if (c === 0x27 && !isPlainContinuation(previous)) {
      for (i++; i < text.length; i++) {
        const q = text.charCodeAt(i)
        if (q === 0x27) { if (text.charCodeAt(i + 1) === 0x27) i++; else break }
        if (q === 0x0a) line++
      }
    } else if ((c === 0x5b || c === 0x7b) && (flow > 0 || opensValue(previous))) {
      flow++
      if (flow > MAX_NESTING) throw tooDeep(source, flow, line)
    } else if ((c === 0x5d || c === 0x7d) && flow > 0) {
      flow--
    }
    previous = c
  }
}

/** True when a character before `[`/`{` means a new value starts (not the middle of a plain scalar). */
function opensValue(previous: number): boolean {
  // line start, `:`, `-`, `?`, `,`, `[`, `{`, or a tag/anchor end is rare enough to ignore
  return previous === 0x0a || previous === 0x3a || previous === 0x2d || previous === 0x3f || previous === 0x2c || previous === 0x5b || previous === 0x7b
}

/** True when `'` continues a plain scalar such as `it's` rather than opening a quoted one. */
function isPlainContinuation(previous: number): boolean {
  return !opensValue(previous)
}

/** The nesting depth of a parsed value, counted without recursion; stops past `limit`. */
export function valueDepth(value: unknown, limit = MAX_NESTING): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number]
    if (typeof node !== 'object' || node === null) continue
    const here = depth + 1
    if (here > deepest) deepest = here
    if (deepest > limit) return deepest
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, here])
  }
  return deepest
}
