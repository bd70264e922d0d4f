/**
 * The only file that listens. Reads the configuration, opens the store, recovers applies
 * a crash interrupted, and on an empty store seeds the example cluster: it brings up the
 * local Slurm sandbox (or says exactly why it cannot), stores examples/campus.yaml as
 * revision 1, applies it, and prints an admin token once. Shuts down gracefully.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { projectRoot } from './project-root.js'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { buildApp } from './api/app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { createStore } from './store/index.js'
import type { Store } from './store/types.js'
import { withClusterReads } from './store/cluster-reads.js'
import { createApplyEngine, type ApplyEngine, type ApplyHook } from './apply/engine.js'
import { loginNodesHook, policyHook } from './login-nodes/apply-hooks.js'
import { ControllersConfigError, parseControllers, profileFromConfig, type ControllersConfig } from './apply/controllers.js'
import type { ControllerProfile } from './apply/profile.js'
import { acceptSpec, parseSpecText } from './spec/load.js'
import { hashTokenSecret, newTokenSecret } from './auth/tokens.js'
import { sandboxUp } from './sandbox/index.js'
import { createRevisionService } from './revisions/service.js'
import { reserveMissingUids, seedCluster } from './revisions/seed.js'
import { createLoginAccess, loginHostKeys } from './login-nodes/access.js'
import type { ClusterSpec } from './spec/schema.js'
import { desiredPools } from './login-nodes/model.js'
import { nodeUsersHook } from './identity/apply-hook.js'
import { nodeAccess } from './identity/node-access.js'
import { createClusterStateService } from './cluster-state/read.js'
import { createBudgetService, type BudgetService } from './budgets/service.js'
import { createSendmailNotifier } from './budgets/notify.js'
import { chooseNotifier } from './budgets/notifier-choice.js'
import { createSnsNotifier } from './adapters/aws/sns.js'
import { createAwsBudgetService } from './budgets/aws-service.js'
import { accountOfTopic, createAwsBudgets } from './adapters/aws/budgets.js'
import { createCostExplorer } from './adapters/aws/cost-explorer.js'
import { budgetUsageProvider } from './me/usage-provider.js'
import { createLocalExecutor } from './adapters/executor.js'

const EXAMPLE = join(projectRoot(), 'examples', 'campus.yaml')

function loginAccessOf(login: NonNullable<Config['loginNodes']>, spec: ClusterSpec, poolKeyDir: string) {
  const hostKeys = loginHostKeys({ cluster: spec.cluster.name, pinned: login.hostKeys, poolKeyDir })
  return createLoginAccess({ spec, nodeUser: login.user, identity: login.identity, haproxyDir: login.haproxyDir, hostKeys })
}

/** Where the service keeps each login pool's shared host key. */
const loginHostKeyDir = (config: Config): string => join(config.dataDir, 'login-host-keys')

/**
 * The apply steps of login nodes (with a login-node key), of POSIX users on every node
 * (the controller, and login and compute nodes over SSH with the same key; compute nodes
 * only behind an SSH controller, a sandbox's are not hosts) and of the policy parameter
 * (STEWARD_PUBLISH_POLICY=1).
 */
function applyHooks(config: Config, controllers: ControllersConfig, profileFor: (cluster: string) => Promise<ControllerProfile>): ApplyHook[] {
  const hooks: ApplyHook[] = []
  const login = config.loginNodes
  const hostKeyDir = loginHostKeyDir(config)
  if (login) hooks.push(loginNodesHook({ access: (spec) => loginAccessOf(login, spec, hostKeyDir), hostKeyDir }))
  if (login) {
    hooks.push(nodeUsersHook({
      nodes: async (spec) => {
        const cluster = spec.cluster.name
        const poolKeys = loginHostKeys({ cluster, pinned: login.hostKeys, poolKeyDir: hostKeyDir })
        const pools = new Map(desiredPools(spec).map((p) => [p.name, p]))
        return nodeAccess(spec, {
          controller: { node: spec.cluster.controller.host, executor: (await profileFor(cluster)).executor },
          user: login.user, identity: login.identity,
          hostKeys: (node, pool) => (pool && pools.has(pool) ? poolKeys(pools.get(pool)!, node) : login.hostKeys[node] ? [login.hostKeys[node]] : []),
          computeNodes: (controllers[cluster] ?? 'sandbox') !== 'sandbox',
        })
      },
    }))
  }
  if (config.publishPolicy) hooks.push(policyHook())
  return hooks
}

function fail(message: string): never {
  process.stderr.write(`hpc-steward: ${message}\n`)
  process.exit(2)
}

/** Seeds an empty store with the example cluster on the local sandbox. */
async function seed(store: Store, engine: ApplyEngine, controllers: ControllersConfig, log: FastifyBaseLogger): Promise<void> {
  const { spec } = acceptSpec(parseSpecText(await readFile(EXAMPLE, 'utf8'), EXAMPLE))
  const name = spec.cluster.name
  let sandboxReady = false
  if ((controllers[name] ?? 'sandbox') === 'sandbox') {
    if (process.getuid?.() !== 0) {
      log.warn({ cluster: name }, 'not bringing up the local Slurm sandbox: it needs root (it installs Slurm, starts munged, MariaDB, slurmdbd, slurmctld and slurmd); run npm run sandbox:up as root, then apply')
    } else {
      try {
        log.info({ cluster: name }, 'bringing up the local Slurm sandbox (a first run installs Slurm and can take a few minutes)')
        const up = await sandboxUp({ spec, log: (message) => log.info({ sandbox: true }, message) })
        log.info({ cluster: name, nodes: up.nodes.length, slurmConf: up.slurmConf }, `sandbox ${up.action}`)
        sandboxReady = true
      } catch (err) {
        log.error({ err, cluster: name }, 'the local Slurm sandbox could not start; the API runs, applies to it will fail until it does')
      }
    }
  }
  // Through the one revision path: checked, its uids reserved, audited.
  await seedCluster(store, createRevisionService(store), spec, { description: 'Example campus cluster (examples/campus.yaml)', source: 'start-up', message: 'seeded from examples/campus.yaml' })
  const secret = newTokenSecret()
  const token = await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'seeded admin token', createdBy: 'system' })
  // Printed once, on the terminal, never logged: it is the only copy.
  process.stderr.write(`\nHPC Steward seeded cluster "${name}". Admin token ${token.id} (shown only now):\n  ${secret}\n` +
    `Try: curl -H "Authorization: Bearer ${secret}" http://HOST:PORT/v1/clusters/${name}/spec\n\n`)
  if (sandboxReady) {
    const apply = await engine.start(name, 1, 'system')
    log.info({ cluster: name, applyId: apply.id }, 'applying revision 1 to the sandbox')
  }
}

async function start(): Promise<void> {
  let config: Config
  let controllers: ControllersConfig
  try {
    config = loadConfig()
    controllers = parseControllers(process.env.STEWARD_CONTROLLERS)
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ControllersConfigError) fail(`bad configuration: ${err.message}`)
    throw err
  }
  // Declared first: the store's and the engine's callbacks log through it once it exists.
  const late: { app?: FastifyInstance; budgets?: BudgetService } = {}
  // With cached cluster reads for the dashboard and /gpus, shared by the engine and the
  // app, so that an apply or a new revision of this process is seen by the next page.
  const store = withClusterReads(await createStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onError: (err) => late.app?.log.error({ err }, 'store failure in the background'),
  }))
  const profiles = new Map<string, ControllerProfile>()
  async function profileFor(cluster: string): Promise<ControllerProfile> {
    let profile = profiles.get(cluster)
    if (!profile) {
      profile = profileFromConfig(controllers, cluster)
      profiles.set(cluster, profile)
    }
    return profile
  }
  const engineLog = { info: (o: object, m: string) => late.app?.log.info(o, m), error: (o: object, m: string) => late.app?.log.error(o, m) }
  const engine = createApplyEngine({
    store,
    log: engineLog,
    hooks: applyHooks(config, controllers, profileFor),
    profileFor,
    // Budget actions in force are planned with every apply, so no apply undoes them by accident.
    budgetActions: async (cluster) => late.budgets ? late.budgets.actionsFor(cluster) : new Map(),
  })
  // GPUs free and node events: read on the same controllers, cached a few seconds.
  const clusterState = createClusterStateService({ executorFor: async (cluster) => (await profileFor(cluster)).executor })
  const notices = chooseNotifier(config, {
    sns: (topicArn) => createSnsNotifier(topicArn),
    sendmail: (from) => createSendmailNotifier({ executor: createLocalExecutor(), from }),
  })
  const budgets = createBudgetService({ store, engine, profileFor, log: engineLog, notifier: notices.notifier })
  late.budgets = budgets
  // The cluster's AWS Budget and the monthly reconciliation; AWS clients from the environment, made when first used.
  const awsBudgets = createAwsBudgetService({
    store, budgets, topicArn: config.budgetsTopicArn,
    awsBudgetsFor: (topicArn) => createAwsBudgets(accountOfTopic(topicArn)), costs: { monthlyByCluster: (month) => createCostExplorer().monthlyByCluster(month) },
  })
  const login = config.loginNodes
  const loginAccess = login ? (_cluster: string, spec: ClusterSpec) => loginAccessOf(login, spec, loginHostKeyDir(config)) : undefined
  const server = await buildApp({ store, engine, loginAccess, clusterState, budgets, awsBudgets, usageProvider: budgetUsageProvider(budgets) }, { logger: { level: config.logLevel } })
  late.app = server
  server.log.info({ channel: notices.channel }, 'budget notices channel')
  for (const apply of await engine.recover()) server.log.warn({ applyId: apply.id, cluster: apply.cluster }, apply.error ?? 'recovered')
  if ((await store.listClusters({ limit: 1 })).items.length === 0) await seed(store, engine, controllers, server.log)
  for (const clash of await reserveMissingUids(store)) {
    server.log.warn(clash, `uid ${clash.uid} of user ${clash.user} in cluster ${clash.cluster} is not reserved for them (${clash.reason}): give one of them another uid`)
  }

  const stopBudgets = config.budgetCheckMinutes > 0 ? budgets.startScheduler(config.budgetCheckMinutes * 60_000) : () => undefined
  const close = async (signal: string): Promise<void> => {
    server.log.info({ signal }, 'shutting down')
    stopBudgets()
    await server.close()
    // A running apply finishes (or rolls back) before its store and connections go.
    await engine.idle()
    for (const p of profiles.values()) await p.close?.()
    await store.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void close('SIGINT'))
  process.once('SIGTERM', () => void close('SIGTERM'))
  await server.listen({ port: config.port, host: config.host })
}

await start()
