/**
 * The `steward` command: dispatches to one function per command and maps errors to exit
 * codes (1 failure, 2 unusable input or bad usage). Commands print; domain code does not.
 *
 * Each command's module is imported only when that command runs: `--help` loads nothing
 * but the usage text, and `validate` never loads the store, SSH or the sandbox. Keep the
 * imports at the top of this file to small modules without dependencies.
 */
import { SpecInvalidError, SpecUnreadableError } from '../spec/problems.js'
import { USAGE, UsageError } from './usage.js'

type Command = (args: string[]) => Promise<number>

/** Each command's loader: the module is imported when the command runs, not at start. */
export const commands: Record<string, () => Promise<Command>> = {
  validate: async () => (await import('./spec-commands.js')).validateCommand,
  render: async () => (await import('./spec-commands.js')).renderCommand,
  sandbox: async () => (await import('./sandbox.js')).sandboxCommand,
  token: async () => (await import('./token.js')).tokenCommand,
  plan: async () => (await import('./plan.js')).planCommand,
  apply: async () => (await import('./accounting.js')).applyCommand,
  import: async () => (await import('./accounting.js')).importCommand,
  hyperpod: async () => (await import('./hyperpod.js')).hyperpodCommand,
  'login-nodes': async () => (await import('./login-nodes.js')).loginNodesCommand,
  identity: async () => (await import('./identity.js')).identityCommand,
  gpus: async () => (await import('./cluster-state.js')).gpusCommand,
  reliability: async () => (await import('./cluster-state.js')).reliabilityCommand,
  whoami: async () => async () => {
    throw new UsageError('whoami asks the service: steward --server URL --token-file FILE whoami')
  },
  usage: async () => (await import('./budgets.js')).usageCommand,
  budgets: async () => (await import('./budgets.js')).budgetsCommand,
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // `steward --server URL --token-file F <command>`: through the REST API.
  if (argv.some((a) => a === '--server' || a.startsWith('--server='))) {
    try {
      return await (await import('./remote.js')).remoteMain(argv)
    } catch (err) {
      return report(err)
    }
  }
  const [name, ...args] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE)
    return name ? 0 : 2
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!load) {
    console.error(`steward: unknown command "${name}"\n\n${USAGE}`)
    return 2
  }
  try {
    const command = await load()
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
