/**
 * `npm run bench -- identity`: a sync of 50,000 users in 2,000 groups from the emulated
 * Identity Store (our front: 100 a page, 20 requests/s across its APIs, throttling beyond),
 * reported as a ratio to the floor the quota forces: the fewest calls that can read the
 * directory (ListGroups pages + one ListGroupMemberships page per 100 members of each
 * group + ListUsers pages) divided by 20 per second (goal <= 1.2). Then a re-sync with
 * nothing changed, as the calls it made (goal: about one per group). Runs minutes; not
 * part of npm test.
 */
import { IdentitystoreClient } from '@aws-sdk/client-identitystore'
import { startAwsFront } from '../test/support/aws/front.js'
import { IDENTITY_STORE_QUOTA } from '../test/support/aws/identity-store.js'
import { createIdentityStoreSource, IDENTITY_STORE_PAGE } from '../src/adapters/aws/identity-store.js'
import { emptyCache } from '../src/identity/directory.js'
import { syncSpecFile } from '../src/identity/sync.js'
import type { ClusterSpec } from '../src/spec/schema.js'
import type { Report } from './timing.js'

const USERS = 50_000
const GROUPS = 2_000
const DEPARTMENTS = 40
const SUPERVISORS = 40
const STORE = 'd-bench00000'

/** A spec with 40 departments of 40 supervisors and the 2,000 groups mapped onto them. */
function benchSpec(): ClusterSpec {
  const departments = Array.from({ length: DEPARTMENTS }, (_, d) => ({
    name: `d${d}`, qos: ['normal'],
    supervisors: Array.from({ length: SUPERVISORS }, (_, s) => ({ name: `s${s}`, users: [] as string[] })),
  }))
  return {
    apiVersion: 'steward/v1',
    cluster: { name: 'bench', slurmVersion: '22.05', controller: { host: 'head' } },
    nodeGroups: [{ name: 'cpu', nodes: 'c-[001-004]', cpus: 8, realMemoryMiB: 16_000 }],
    qos: [{ name: 'normal' }],
    departments,
    users: [],
    identity: {
      source: 'identity-center',
      identityCenter: { identityStoreId: STORE, region: 'eu-west-1' },
      uidRange: { from: 1_000_000, to: 1_100_000 },
      groups: Array.from({ length: GROUPS }, (_, g) => ({ group: `group-${g}`, department: `d${g % DEPARTMENTS}`, supervisor: `s${Math.floor(g / DEPARTMENTS) % SUPERVISORS}` })),
    },
  }
}

const total = (calls: Map<string, number>): number => [...calls.values()].reduce((a, b) => a + b, 0)

export async function benchIdentity(report: Report): Promise<void> {
  // The Identity Store is answered by the front itself; nothing reaches the upstream.
  const front = await startAwsFront({ upstream: 'http://127.0.0.1:9' })
  try {
    const is = front.identityStore
    const groups = Array.from({ length: GROUPS }, (_, g) => is.addGroup(STORE, `group-${g}`))
    const members = new Map<string, number>()
    for (let u = 0; u < USERS; u++) {
      const id = is.addUser(STORE, { UserName: `User.${u}@uni.edu`, Emails: [{ Value: `user.${u}@uni.edu`, Primary: true }] })
      const group = groups[u % GROUPS]!
      is.addMember(STORE, group, id)
      members.set(group, (members.get(group) ?? 0) + 1)
    }
    const floorCalls = Math.ceil(GROUPS / IDENTITY_STORE_PAGE) + [...members.values()].reduce((a, n) => a + Math.ceil(n / IDENTITY_STORE_PAGE), 0) + Math.ceil(USERS / IDENTITY_STORE_PAGE)
    const floorSeconds = floorCalls / IDENTITY_STORE_QUOTA
    const client = new IdentitystoreClient({ endpoint: front.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' }, maxAttempts: 1 })
    const source = createIdentityStoreSource({ identityStoreId: STORE, client })
    const cache = emptyCache()

    front.calls.clear()
    const started = performance.now()
    const first = await syncSpecFile(benchSpec(), source, { cache })
    const seconds = (performance.now() - started) / 1000
    const calls = total(front.calls)
    report('identity: first sync of 50,000 users in 2,000 groups (20 req/s)', {
      'users added': first.summary.added.length,
      'calls made (incl. retries)': calls,
      'calls the quota forces': floorCalls,
      'throttled': source.limiter.stats.throttled,
      'floor (calls / 20 s)': `${floorSeconds.toFixed(1)} s`,
      'wall time': `${seconds.toFixed(1)} s`,
      'ratio to the floor (goal <= 1.2)': (seconds / floorSeconds).toFixed(3),
    })

    front.calls.clear()
    const again = performance.now()
    const second = await syncSpecFile(first.spec, source, { cache })
    report('identity: re-sync with nothing changed', {
      'changed': String(second.changed),
      'calls made': total(front.calls),
      'groups': GROUPS,
      'calls per group': (total(front.calls) / GROUPS).toFixed(3),
      'wall time': `${((performance.now() - again) / 1000).toFixed(1)} s`,
    })
  } finally {
    await front.close()
  }
}
