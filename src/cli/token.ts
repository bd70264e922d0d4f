/**
 * `steward token create --role admin|department-admin|researcher [--cluster C]
 * [--department D]... [--user U] [--description TEXT]`: creates an API token in the
 * service's store (the same STEWARD_DATA_DIR / DATABASE_URL as the server) and prints its
 * secret once. Department-admin and researcher tokens are bound to the cluster `--cluster`.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { createStore } from '../store/index.js'
import { StoreNotFoundError, type Role, type Store } from '../store/types.js'
import { hashTokenSecret, newTokenSecret, tokenScopeProblem } from '../auth/tokens.js'
import { isName, isUserName } from '../spec/names.js'
import { UsageError } from './usage.js'

const ROLES: Role[] = ['admin', 'department-admin', 'researcher']

export async function tokenCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'create') throw new UsageError('usage: steward token create --role ROLE [--cluster C] [--department D]... [--user U] [--description TEXT]')
  const { values } = parseArgs({
    args: rest,
    options: {
      role: { type: 'string' }, cluster: { type: 'string' }, department: { type: 'string', multiple: true }, user: { type: 'string' }, description: { type: 'string' },
    },
  })
  const role = values.role as Role
  if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`)
  const departments = values.department ?? []
  for (const d of departments) if (!isName(d)) throw new UsageError(`--department "${d}" is not a department name`)
  if (values.user !== undefined && !isUserName(values.user)) throw new UsageError(`--user "${values.user}" is not a user name`)
  const cluster = values.cluster
  if (cluster !== undefined && !isName(cluster)) throw new UsageError(`--cluster "${cluster}" is not a cluster name`)
  const problem = tokenScopeProblem(role, departments, values.user, cluster)
  if (problem) throw new UsageError(problem)
  const config = loadConfig()
  const store = await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  try {
    if (cluster !== undefined && !(await clusterExists(store, cluster))) {
      console.error(`steward token: no cluster "${cluster}" in the store: register it first (POST /v1/clusters)`)
      return 1
    }
    const secret = newTokenSecret()
    const by = `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'}`
    const token = await store.createToken({ secretHash: hashTokenSecret(secret), role, departments, user: values.user ?? null, cluster: cluster ?? null, description: values.description ?? '', createdBy: by })
    await store.appendAudit({ actor: by, source: 'cli', cluster: cluster ?? null, action: 'token.create', resource: `tokens/${token.id}`, change: { after: token } })
    console.error(`created token ${token.id} (${role}${departments.length ? ` of ${departments.join(', ')}` : ''}${values.user ? ` for ${values.user}` : ''}${cluster ? ` on cluster ${cluster}` : ''}); it is shown only now:`)
    console.log(secret)
    return 0
  } finally {
    await store.close()
  }
}

async function clusterExists(store: Store, name: string): Promise<boolean> {
  try {
    await store.getCluster(name)
    return true
  } catch (err) {
    if (err instanceof StoreNotFoundError) return false
    throw err
  }
}
