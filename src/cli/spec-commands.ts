/**
 * `steward validate FILE` and `steward render FILE --out DIR`: thin wrappers over the spec
 * and rendering functions. Exit codes: 0 no error, 1 errors in the spec, 2 unusable input.
 */
import { parseArgs } from 'node:util'
import { parseSpecText, readSpecFile } from '../spec/load.js'
import { validateSpec } from '../spec/validate.js'
import { SpecUnreadableError, type Problem } from '../spec/problems.js'
import type { ClusterSpec } from '../spec/schema.js'
import { UsageError } from './usage.js'

function printProblems(problems: Problem[]): void {
  for (const p of problems) console.error(`${p.severity}: ${p.path || '/'}: ${p.message}`)
}

async function readAndValidate(file: string | undefined): Promise<{ value: unknown; ok: boolean; problems: Problem[] }> {
  if (!file) throw new UsageError('give the spec file: steward validate FILE')
  const value = parseSpecText(await readSpecFile(file), file)
  const result = validateSpec(value)
  return { value, ok: result.ok, problems: result.errors }
}

/** `steward validate FILE [--json]` */
export async function validateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } })
  try {
    const { ok, problems } = await readAndValidate(positionals[0])
    if (values.json) console.log(JSON.stringify({ ok, errors: problems }, null, 2))
    else {
      printProblems(problems)
      const errors = problems.filter((p) => p.severity === 'error').length
      console.error(ok ? `${positionals[0]}: valid (${problems.length} warning(s))` : `${positionals[0]}: ${errors} error(s)`)
    }
    return ok ? 0 : 1
  } catch (err) {
    if (err instanceof SpecUnreadableError && values.json) {
      console.log(JSON.stringify({ ok: false, errors: [{ path: '', message: err.message, severity: 'error' }] }, null, 2))
      return 2
    }
    throw err
  }
}

/** `steward render FILE --out DIR [--dry-run]` */
export async function renderCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, options: { out: { type: 'string', short: 'o' }, 'dry-run': { type: 'boolean' } },
  })
  if (!values.out && !values['dry-run']) throw new UsageError('give the output directory: steward render FILE --out DIR (or --dry-run)')
  const { value, ok, problems } = await readAndValidate(positionals[0])
  printProblems(problems)
  if (!ok) {
    console.error('nothing written: fix the errors above')
    return 1
  }
  // Rendering (Handlebars, templates) and file writing load only when there is something to render.
  const [{ renderCluster }, { writeFilesAtomically }] = await Promise.all([import('../slurm/render.js'), import('../adapters/atomic-files.js')])
  const files = renderCluster(value as ClusterSpec)
  if (values['dry-run']) {
    for (const f of files) console.log(`==> ${f.name} <==\n${f.content}`)
    return 0
  }
  await writeFilesAtomically(values.out as string, files)
  for (const f of files) console.error(`wrote ${values.out}/${f.name}`)
  return 0
}
