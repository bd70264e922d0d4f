#!/usr/bin/env node
/**
 * After a failed `tap` run: every failed assertion, by test file and subtest, with the
 * first lines of its diagnostics, printed last, so that the end of a long log (all a CI
 * page may keep) says what failed. Reads the run's results under .tap/test-results, only
 * those of test files that exist (a deleted test's old result is not reported).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const RESULTS = '.tap/test-results'
/** Diagnostic lines kept per failure. */
const DIAGNOSTIC_LINES = 12

/** The result files under `dir`, depth first. */
function resultFiles(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? resultFiles(path) : path.endsWith('.tap') ? [path] : []
  })
}

/** The failed assertions of one result file: their subtest path, line and diagnostics. */
function failuresOf(text) {
  const lines = text.split('\n')
  const failures = []
  const names = [] // subtest names by depth
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]
    const depth = (line.length - line.trimStart().length) / 4
    const subtest = /^\s*# Subtest: (.*)$/.exec(line)
    if (subtest) {
      names.length = depth
      names[depth] = subtest[1]
      continue
    }
    const notOk = /^\s*not ok \d+ - (.*?)(?: # time=.*)?$/.exec(line)
    if (!notOk) continue
    // A subtest's own "not ok" (its diagnostics follow its children) adds nothing to theirs.
    if (names[depth] !== undefined && names[depth] === notOk[1] && failures.some((f) => f.path.startsWith(names.slice(0, depth + 1).join(' > ')))) continue
    const block = []
    if (/^\s*---\s*$/.test(lines[i + 1] ?? '')) {
      for (let j = i + 2; j < lines.length && !/^\s*\.\.\.\s*$/.test(lines[j]); j += 1) block.push(lines[j])
    }
    failures.push({ path: [...names.slice(0, depth), notOk[1]].join(' > '), diagnostics: diagnosticsOf(block).slice(0, DIAGNOSTIC_LINES) })
  }
  return failures
}

/** Keys of tap's diagnostics left out (the place is said in one line instead). */
const SKIPPED = new Set(['at', 'stack', 'source'])

/** A failure's YAML diagnostics: what was found and wanted, the diff, the message; then where. */
function diagnosticsOf(block) {
  const indent = (l) => l.length - l.trimStart().length
  const base = Math.min(...block.filter((l) => l.trim()).map(indent))
  const kept = []
  let skipping = false
  let at
  for (const line of block) {
    const top = indent(line) === base
    const key = top ? /^\s*([\w-]+):/.exec(line)?.[1] : undefined
    if (top) skipping = key !== undefined && SKIPPED.has(key)
    if (skipping) {
      const file = /^\s*fileName: (.*)$/.exec(line)?.[1]
      const lineNo = /^\s*lineNumber: (\d+)$/.exec(line)?.[1]
      if (file) at = file
      if (lineNo && at && !at.includes(':')) at = `${at}:${lineNo}`
      continue
    }
    kept.push(line.slice(base))
  }
  return at ? [...kept, `at: ${at}`] : kept
}

let count = 0
for (const file of resultFiles(RESULTS).sort()) {
  const test = relative(RESULTS, file).replace(/\.tap$/, '')
  if (!existsSync(test)) continue
  for (const f of failuresOf(readFileSync(file, 'utf8'))) {
    if (count === 0) console.log('\n# Failed assertions (from .tap/test-results)')
    count += 1
    console.log(`\nnot ok ${count} - ${test} > ${f.path}`)
    for (const d of f.diagnostics) console.log(`    ${d}`)
  }
}
if (count === 0) console.log('\n# No failed assertion in .tap/test-results: the run failed elsewhere (a test file that did not finish, a timeout, tap itself).')
else console.log(`\n# ${count} failed assertion(s)`)
