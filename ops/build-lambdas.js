// Bundles each Lambda handler (lambdas/<name>.ts) with esbuild into
// dist/lambdas/<name>/index.mjs: ESM, `handler` export, AWS SDK v3 left external (the
// Node.js 20 runtime provides it). Run by `npm run build`.
import { build } from 'esbuild'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const names = readdirSync(join(root, 'lambdas')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3))
for (const name of names) {
  const result = await build({
    entryPoints: [join(root, 'lambdas', `${name}.ts`)],
    outfile: join(root, 'dist', 'lambdas', name, 'index.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    external: ['@aws-sdk/*'],
    // CommonJS dependencies that call require() need it inside an ES module.
    banner: { js: "import { createRequire as __stewardRequire } from 'node:module'; const require = __stewardRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  })
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)
  console.log(`dist/lambdas/${name}/index.mjs ${bytes} bytes`)
}
