/** One finding of validation: where (a JSON pointer into the spec), what, how bad. */
export interface Problem {
  path: string
  message: string
  severity: 'error' | 'warning'
}

/** A validation result: `ok` when no problem is an error (warnings allowed). */
export interface ValidationResult {
  ok: boolean
  errors: Problem[]
}

/** Thrown when a spec has errors; carries every problem found. */
export class SpecInvalidError extends Error {
  override name = 'SpecInvalidError'
  /**
   * `structure` when the value does not match the schema (HTTP 400); `semantic` when it
   * does but breaks a rule such as a dangling reference (HTTP 422).
   */
  readonly kind: 'structure' | 'semantic'
  constructor(readonly problems: Problem[], kind?: 'structure' | 'semantic') {
    const errors = problems.filter((p) => p.severity === 'error')
    super(`the spec has ${errors.length} error(s): ${errors.slice(0, 3).map((p) => `${p.path || '/'}: ${p.message}`).join('; ')}${errors.length > 3 ? '; ...' : ''}`)
    this.kind = kind ?? 'structure'
  }
}

/** Thrown when the input cannot be read as a spec at all (missing file, not YAML/JSON). */
export class SpecUnreadableError extends Error {
  override name = 'SpecUnreadableError'
}

/** Collects problems with their paths. */
export class Problems {
  readonly list: Problem[] = []
  error(path: string, message: string): void {
    this.list.push({ path, message, severity: 'error' })
  }
  warning(path: string, message: string): void {
    this.list.push({ path, message, severity: 'warning' })
  }
}
