/**
 * Build-time compilation (part of `npm run build`, after tsc), so a process does not
 * compile the same things at every start:
 * - templates/*.hbs into dist/templates.cjs (src/slurm/templates.ts), rendered then with
 *   the Handlebars runtime alone;
 * - the spec schema's structural check into dist/spec-check.cjs (src/spec/precompiled-check.ts).
 * Each entry carries the digest of its source, so an edited template or schema is
 * compiled from source instead of using a stale copy.
 */
import { writeFile } from 'node:fs/promises'
import { URL, fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const templates = await import(`${root}dist/src/slurm/templates.js`)
const checks = await import(`${root}dist/src/spec/precompiled-check.js`)
const { ClusterSpec } = await import(`${root}dist/src/spec/schema.js`)
await writeFile(`${root}${templates.PRECOMPILED_FILE}`, templates.precompileTemplates())
await writeFile(`${root}${checks.PRECOMPILED_CHECK_FILE}`, checks.precompileChecks([ClusterSpec]))
