/**
 * Slurm output captured from the sandbox, replayed: an Executor that answers each argv from
 * a function, and the seeded app whose cluster-state service reads through it (the API, CLI
 * and dashboard tests that need no live Slurm; test/integration/ reads the live sandbox).
 */
import { readFileSync } from 'node:fs'
import type { Executor } from '../../src/adapters/executor.js'
import { createClusterStateService } from '../../src/cluster-state/read.js'
import { seeded, type Seeded } from '../api/helpers.js'

/** `scontrol show nodes` of the sandbox (Slurm 22.05). */
export const SCONTROL_NODES = readFileSync(new URL('../cluster-state/fixtures/scontrol-nodes-22.05.txt', import.meta.url), 'utf8')

/** An Executor whose every command succeeds and prints `stdout(argv)`; it reads and writes no file. */
export function replayExecutor(stdout: (argv: readonly string[]) => string): Executor {
  return {
    target: 'replay',
    async run(argv) { return { argv, code: 0, stdout: stdout(argv), stderr: '' } },
    async readFile() { return undefined },
    async writeFileAtomic() {},
  }
}

/** `seeded`'s app with the sandbox's nodes as its cluster state (scontrol replayed; any other command prints nothing). */
export function seededOnReplay(): Promise<Seeded> {
  const replay = replayExecutor((argv) => (argv.includes('scontrol') ? SCONTROL_NODES : ''))
  return seeded(undefined, { clusterState: createClusterStateService({ executorFor: async () => replay }) })
}
