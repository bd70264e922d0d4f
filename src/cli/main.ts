/**
 * The `steward` command: dispatches to one function per command and maps errors to exit
 * codes (1 failure, 2 unusable input or bad usage). Commands print; domain code does not.
 */
import { SpecInvalidError, SpecUnreadableError } from '../spec/problems.js'
import { renderCommand, validateCommand } from './spec-commands.js'
import { sandboxCommand } from './sandbox.js'
import { tokenCommand } from './token.js'
import { applyCommand, importCommand, planCommand } from './accounting.js'
import { loginNodesCommand } from './login-nodes.js'
import { USAGE, UsageError } from './usage.js'

type Command = (args: string[]) => Promise<number>

const commands: Record<string, Command> = {
  validate: validateCommand,
  render: renderCommand,
  sandbox: sandboxCommand,
  token: tokenCommand,
  plan: planCommand,
  apply: applyCommand,
  import: importCommand,
  'login-nodes': loginNodesCommand,
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE)
    return name ? 0 : 2
  }
  const command = commands[name]
  if (!command) {
    console.error(`steward: unknown command "${name}"\n\n${USAGE}`)
    return 2
  }
  try {
    return await command(args)
  } catch (err) {
    return report(err)
  }
}

function report(err: unknown): number {
  if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(`steward: ${err.message}\n\n${USAGE}`)
    return 2
  }
  if (err instanceof SpecUnreadableError) {
    console.error(`steward: ${err.message}`)
    return 2
  }
  if (err instanceof SpecInvalidError) {
    for (const p of err.problems) console.error(`${p.severity}: ${p.path || '/'}: ${p.message}`)
    return 1
  }
  console.error(`steward: ${err instanceof Error ? err.message : String(err)}`)
  if (err instanceof Error && err.cause) console.error(`  caused by: ${err.cause instanceof Error ? err.cause.message : String(err.cause)}`)
  return 1
}
