/**
 * Which controller each cluster has, from configuration: `STEWARD_CONTROLLERS` is a JSON
 * object from cluster name to `"sandbox"` (this machine's local Slurm sandbox, also the
 * default of the one cluster the sandbox runs) or to an SSH controller:
 *
 *   {"campus": {"url": "ssh://root@head-1:22", "identity": "/etc/steward/id_ed25519",
 *               "hostKey": "SHA256:...", "configDir": "/etc/slurm", "sandbox": false}}
 *
 * `hostKey` is required: the fingerprint of the controller's SSH host key as
 * `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it there; a controller that
 * presents another key is refused.
 *
 * With `"sandbox": true` an SSH controller is the sandbox reached over SSH (the
 * end-to-end tests do this). The JSON is checked once at start-up.
 */
import { readFileSync } from 'node:fs'
import { hostname as osHostname } from 'node:os'
import { join } from 'node:path'
import { projectRoot } from '../project-root.js'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { Executor } from '../adapters/executor.js'
import { createSshExecutor, HOST_KEY_PATTERN, parseSshUrl } from '../adapters/ssh-executor.js'
import { Name } from '../spec/names.js'
import {
  DEFAULT_NODES_PER_GROUP, emulatedNodes, resolveStateDir, sandboxExecutor, sandboxPaths, sandboxTarget, type SandboxRelease,
} from '../sandbox/index.js'
import { checkHostname, nodeAddresses, sandboxSite } from '../sandbox/layout.js'
import { NoControllerError, systemdProfile, type ControllerProfile } from './profile.js'

const Argv = Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64 })
const SshController = Type.Object({
  url: Type.String({ pattern: '^ssh://' }),
  identity: Type.String({ minLength: 1 }),
  hostKey: Type.String({ pattern: HOST_KEY_PATTERN, description: 'SHA256 fingerprint of the host key, as ssh-keygen -lf prints it' }),
  configDir: Type.Optional(Type.String({ pattern: '^/[A-Za-z0-9._/-]*$' })),
  sandbox: Type.Optional(Type.Boolean()),
  restart: Type.Optional(Argv),
  reconfigure: Type.Optional(Argv),
  healthCheck: Type.Optional(Argv),
}, { additionalProperties: false })
export const ControllersConfig = Type.Record(Name, Type.Union([Type.Literal('sandbox'), SshController]), { additionalProperties: false })
export type ControllersConfig = Static<typeof ControllersConfig>

/** Thrown for a bad STEWARD_CONTROLLERS value. */
export class ControllersConfigError extends Error {
  override name = 'ControllersConfigError'
}

/** Parses and checks `STEWARD_CONTROLLERS`. */
export function parseControllers(text: string | undefined): ControllersConfig {
  if (!text) return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ControllersConfigError(`STEWARD_CONTROLLERS is not JSON: ${(err as Error).message}`)
  }
  // Each SSH entry on its own schema: a union's error would only say "Expected union value".
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [name, entry] of Object.entries(value)) {
      if (entry === 'sandbox' || entry === null || typeof entry !== 'object') continue
      const bad = [...Value.Errors(SshController, entry)][0]
      if (bad) throw new ControllersConfigError(`STEWARD_CONTROLLERS/${name}${bad.path}: ${bad.message}`)
    }
  }
  const first = [...Value.Errors(ControllersConfig, value)][0]
  if (first) throw new ControllersConfigError(`STEWARD_CONTROLLERS${first.path}: ${first.message}`)
  for (const c of Object.values(value as ControllersConfig)) if (c !== 'sandbox') parseSshUrl(c.url)
  return value as ControllersConfig
}

/** The ClusterName of the sandbox's slurm.conf, if it has one. */
function sandboxCluster(slurmConf: string): string | undefined {
  try {
    return /^ClusterName=(\S+)/m.exec(readFileSync(slurmConf, 'utf8'))?.[1]
  } catch {
    return undefined
  }
}

/** `node bin/steward.js sandbox reload [...]` of this installation: how the sandbox takes installed files. */
function sandboxReloadArgv(release: SandboxRelease, ...extra: string[]): string[] {
  return [process.execPath, join(projectRoot(), 'bin', 'steward.js'), 'sandbox', 'reload', '--slurm', release, ...extra]
}

/**
 * The local sandbox as a controller, reached through `executor` (local, or SSH to this
 * host; default: the sandbox's own, which runs Slurm's commands inside the Debian root of
 * a 24.11 sandbox). `release` defaults to `STEWARD_SANDBOX_SLURM` or the host's.
 */
export function sandboxProfile(cluster: string, executor?: Executor, options: { stateDir?: string; nodesPerGroup?: number; release?: SandboxRelease } = {}): ControllerProfile {
  const target = sandboxTarget({ ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}), ...(options.release ? { release: options.release } : {}) })
  const { paths, ports } = target
  const host = checkHostname(osHostname())
  return {
    cluster,
    // The reload commands are the steward CLI, which runs on the host.
    executor: executor ?? sandboxExecutor(target, [process.execPath]),
    configDir: paths.etc,
    renderOptions: (spec) => ({
      site: { ...sandboxSite(paths, spec, host, ports, target.release), accountingStoragePass: paths.mungeSocket },
      nodeAddresses: nodeAddresses(emulatedNodes(spec, options.nodesPerGroup ?? DEFAULT_NODES_PER_GROUP, ports.firstNode), host),
    }),
    restart: sandboxReloadArgv(target.release, '--restart'),
    reconfigure: sandboxReloadArgv(target.release),
  }
}

/**
 * Builds the profile of `cluster` from the configuration. A cluster without an entry
 * uses the local sandbox only when the sandbox runs that cluster: two clusters must
 * never share one controller's files.
 */
export function profileFromConfig(config: ControllersConfig, cluster: string): ControllerProfile {
  const entry = config[cluster]
  if (entry === undefined || entry === 'sandbox') {
    const paths = sandboxTarget().paths
    const running = sandboxCluster(paths.slurmConf)
    if (entry === undefined && running !== cluster) {
      throw new NoControllerError(`cluster "${cluster}" has no controller: add it to STEWARD_CONTROLLERS, or boot the local sandbox with its spec (npm run sandbox:up -- FILE)${running ? `; the sandbox runs "${running}"` : ''}`)
    }
    return sandboxProfile(cluster)
  }
  const { username, host, port } = parseSshUrl(entry.url)
  const sandboxConf = entry.sandbox ? sandboxPaths(resolveStateDir(process.env)).slurmConf : undefined
  const configDir = entry.configDir ?? '/etc/slurm'
  const executor = createSshExecutor({
    host, port, username, privateKeyPath: entry.identity, hostKey: entry.hostKey,
    env: sandboxConf ? { SLURM_CONF: sandboxConf } : { SLURM_CONF: `${configDir}/slurm.conf` },
  })
  const base = entry.sandbox ? sandboxProfile(cluster, executor) : systemdProfile(cluster, executor, configDir)
  return {
    ...base,
    ...(entry.restart ? { restart: entry.restart } : {}),
    ...(entry.reconfigure ? { reconfigure: entry.reconfigure } : {}),
    ...(entry.healthCheck ? { healthCheck: entry.healthCheck } : {}),
    close: () => executor.close(),
  }
}
