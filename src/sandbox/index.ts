/** The real-Slurm sandbox: boot a spec on this machine's own Slurm daemons (see ops/sandbox/README.md). */
export {
  sandboxUp, sandboxDown, sandboxReload, sandboxStatus, sandboxEnv, sandboxTarget, emulatedNodesOf, SandboxError,
  type SandboxReloadOptions, type SandboxReloadResult,
  type SandboxOptions, type SandboxUpOptions, type SandboxUpResult, type SandboxDownOptions, type SandboxDownResult,
  type SandboxStatus, type DaemonStatus, type SandboxRecord,
} from './sandbox.js'
export { SandboxDaemonError, DEFAULT_TIMEOUTS, type SandboxTimeouts } from './daemons.js'
export { SandboxInstallError } from './install.js'
export {
  DEFAULT_PORTS, DEFAULT_STATE_DIR, DEFAULT_NODES_PER_GROUP, STATE_DIR_ENV, SandboxLayoutError,
  resolveStateDir, sandboxPaths, emulatedNodes, configChange,
  type SandboxPorts, type SandboxPaths, type EmulatedNode, type ConfigChange,
} from './layout.js'
export { parseRecord, parseRecords, nodeState, nodeUsable } from './scontrol.js'
export {
  SANDBOX_RELEASES, HOST_RELEASE, RELEASE_ENV, parseRelease, resolveRelease, releaseSetup, sandboxLocation, sandboxExecutor,
  type SandboxRelease, type SandboxLocation, type ReleaseSetup,
} from './release.js'
export { rootArgv, createRootExecutor } from '../adapters/root-executor.js'
