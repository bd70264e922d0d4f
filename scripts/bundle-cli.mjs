/**
 * Bundles the `steward` command into dist/cli/ with esbuild (part of `npm run build`).
 *
 * Why: Node.js 20 loads an ES module file by file, and the CLI's dependencies are
 * hundreds of small files (TypeBox alone is 266), so start-up cost more than the work.
 * One bundle per command group (code splitting on the CLI's dynamic imports) starts in a
 * fraction of the time. Native addons and the service's heavy dependencies stay external:
 * they load from node_modules only when a command that needs them runs.
 */
import { build } from 'esbuild'
import { URL, fileURLToPath } from 'node:url'
import { rm } from 'node:fs/promises'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = `${root}dist/cli`

await rm(outdir, { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  // Bundled CommonJS dependencies (handlebars) call require(): give them one.
  banner: { js: "import { createRequire as __stewardCreateRequire } from 'node:module'; const require = __stewardCreateRequire(import.meta.url);" },
  external: ['better-sqlite3', 'pg', 'pg-native', 'node-ssh', 'ssh2', 'cpu-features', 'fastify', '@fastify/*'],
  legalComments: 'linked',
  logLevel: 'warning',
})
