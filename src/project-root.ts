/**
 * The installation's root directory (where package.json, templates/ and bin/ are). Code
 * runs from src/ in tests and from dist/src/ in production, so it is found by walking up.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

/** The nearest directory above this module holding package.json and templates/. */
export function projectRoot(): string {
  if (cached) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates', 'slurm.conf.hbs'))) {
      cached = dir
      return dir
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('the HPC Steward installation root (package.json, templates/) was not found above its modules')
    dir = parent
  }
}
