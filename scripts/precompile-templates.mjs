/**
 * Precompiles templates/*.hbs into dist/templates.cjs (part of `npm run build`, after
 * tsc): rendering then needs only the Handlebars runtime. Each entry carries its
 * source's sha256, so an edited template is compiled from source instead
 * (src/slurm/templates.ts).
 */
import { writeFile } from 'node:fs/promises'
import { URL, fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const { PRECOMPILED_FILE, precompileTemplates } = await import(`${root}dist/src/slurm/templates.js`)
await writeFile(`${root}${PRECOMPILED_FILE}`, precompileTemplates())
