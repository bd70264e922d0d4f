/**
 * Several commands in one remote session: sshd starts every session through the user's
 * shell (with its ~/.bashrc), so reads that go together (the live state: sacctmgr and
 * getent) cost one start-up instead of one each. The batch is a fixed POSIX `sh` script
 * around the commands, each of them an argv turned into words by `quoteArgv` (the one
 * quoting function), run concurrently with stdin closed and their output in a private
 * temporary directory; then, for each in order, a header line `EXIT OUTBYTES ERRBYTES`
 * and the bytes of its stdout and stderr. Nothing of a command's output reaches the
 * script's own parsing, so output can hold anything.
 */
import { quoteArg, quoteArgv } from './shell-quote.js'

/** Thrown when a batch's output is not what its script prints (a broken session). */
export class BatchOutputError extends Error {
  override name = 'BatchOutputError'
}

/** The `sh -c` argv that runs the already-prefixed commands concurrently and reports each. */
export function batchArgv(commands: readonly (readonly string[])[]): string[] {
  const lines = ['d=$(mktemp -d) || exit 125', 'trap \'rm -rf "$d"\' EXIT']
  commands.forEach((argv, i) => {
    lines.push(`{ ${quoteArgv(argv)} </dev/null >"$d/${i}.o" 2>"$d/${i}.e"; echo $? >"$d/${i}.c"; } &`)
  })
  lines.push('wait')
  commands.forEach((_, i) => {
    lines.push(`printf '%s %s %s\\n' "$(cat "$d/${i}.c")" "$(wc -c <"$d/${i}.o")" "$(wc -c <"$d/${i}.e")"`, `cat "$d/${i}.o" "$d/${i}.e"`)
  })
  return ['sh', '-c', lines.join('\n')]
}

/** The command line of a batch, for an SSH exec request. */
export function batchCommandLine(commands: readonly (readonly string[])[]): string {
  return batchArgv(commands).map(quoteArg).join(' ')
}

/** Splits a batch's stdout into each command's exit code, stdout and stderr. */
export function parseBatchOutput(out: Buffer, count: number): Array<{ code: number; stdout: string; stderr: string }> {
  const results: Array<{ code: number; stdout: string; stderr: string }> = []
  let at = 0
  for (let i = 0; i < count; i++) {
    const end = out.indexOf(0x0a, at)
    const header = end < 0 ? undefined : /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(out.subarray(at, end).toString('latin1'))
    if (!header) throw new BatchOutputError(`command ${i + 1} of ${count} of the batch reported nothing readable`)
    const [code, outBytes, errBytes] = [Number(header[1]), Number(header[2]), Number(header[3])]
    const start = end + 1
    if (start + outBytes + errBytes > out.length) throw new BatchOutputError(`the output of command ${i + 1} of ${count} of the batch is cut short`)
    results.push({
      code,
      stdout: out.subarray(start, start + outBytes).toString('utf8'),
      stderr: out.subarray(start + outBytes, start + outBytes + errBytes).toString('utf8'),
    })
    at = start + outBytes + errBytes
  }
  return results
}
