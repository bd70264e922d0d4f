/**
 * The one place that turns an argv into a command line, for SSH (which carries a
 * string, not an argv). Every argument is single-quoted, so nothing in it is ever
 * interpreted by the remote shell. Audited by test/adapters/shell-quote.test.ts.
 */

/** Thrown for an argument that cannot be passed safely (a NUL byte). */
export class UnsafeArgumentError extends Error {
  override name = 'UnsafeArgumentError'
}

/** Quotes one argument for a POSIX shell. */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new UnsafeArgumentError('an argument contains a NUL byte')
  if (/^[\w./=:,@%+-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/**
 * The command line that runs exactly `argv` on a POSIX shell. The first word is always
 * quoted when it holds `=`: unquoted, `A=b cmd` would be a variable assignment.
 */
export function quoteArgv(argv: readonly string[]): string {
  const [first, ...rest] = argv
  if (first === undefined) throw new UnsafeArgumentError('empty argv')
  const head = first.includes('=') ? `'${first.replace(/'/g, `'\\''`)}'` : quoteArg(first)
  if (first.includes('\0')) throw new UnsafeArgumentError('an argument contains a NUL byte')
  return [head, ...rest.map(quoteArg)].join(' ')
}
