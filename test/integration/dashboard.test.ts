/**
 * The dashboard's capabilities on the real sandbox (Slurm 22.05, slurmdbd), one boot:
 * 1. `steward gpus --sandbox --json` during jobs holding GPUs and shards equals what
 *    `scontrol -o show node` reports (CfgTRES/AllocTRES, read here independently);
 * 2. node reliability from the events the test makes with `scontrol update` (two nodes
 *    DOWN and back, one planned drain by root): counts, MTBF and repair times;
 * 3. the dashboard in Debian's headless Chromium (playwright-core) as an admin, a
 *    department admin and a researcher: no console error, no failed request, no other
 *    department's names, screenshots under .tap/screenshots/dashboard; the usage page
 *    draws nlp's budget burn-down (the test's spec has prices and a budget); a revoked token
 *    goes back to sign-in; a forged POST without the CSRF token is refused.
 * Needs root and a built dist/ (npm test builds first). Run under
 * flock /tmp/steward-sandbox.lock like every sandbox test.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { sandboxEnv, sandboxExecutor, sandboxTarget, sandboxUp } from '../../src/sandbox/index.js'
import { acceptSpec, parseSpecText } from '../../src/spec/load.js'
import { parseRecords } from '../../src/slurm/conf-parse.js'
import { expandHostlist } from '../../src/slurm/hostlist.js'
import { buildApp } from '../../src/api/app.js'
import { createBudgetService } from '../../src/budgets/service.js'
import { budgetUsageProvider } from '../../src/me/usage-provider.js'
import type { ApplyEngine } from '../../src/apply/engine.js'
import { createStore } from '../../src/store/index.js'
import { createRevisionService } from '../../src/revisions/service.js'
import { seedCluster } from '../../src/revisions/seed.js'
import { hashTokenSecret, newTokenSecret } from '../../src/auth/tokens.js'
import { createClusterStateService } from '../../src/cluster-state/read.js'
import type { Role } from '../../src/store/types.js'

if (process.getuid?.() !== 0) throw new Error('the dashboard integration test needs root (it boots the Slurm sandbox)')
const root = fileURLToPath(new URL('../../', import.meta.url))
const campusFile = join(root, 'examples', 'campus.yaml')
const spec = acceptSpec(parseSpecText(readFileSync(campusFile, 'utf8'))).spec
const up = await sandboxUp({ spec })
const ex = createLocalExecutor(sandboxEnv())
const screenshots = join(root, '.tap', 'screenshots', 'dashboard')
mkdirSync(screenshots, { recursive: true })

function steward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'steward.js'), ...args], { cwd: root, env: { ...process.env, ...sandboxEnv() } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}
async function sh(argv: string[]): Promise<string> {
  const r = await ex.run(argv, { timeoutMs: 60_000 })
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`)
  return r.stdout
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// The campus accounting and its POSIX users (a no-op when an earlier test left them so).
const applied = await steward('apply', campusFile, '--yes', '--sandbox')
if (applied.code !== 0) throw new Error(`steward apply failed: ${applied.stderr}`)

t.test('steward gpus equals scontrol show node during jobs holding GPUs and shards', async (t) => {
  const jobs: string[] = []
  t.teardown(async () => { if (jobs.length) await ex.run(['scancel', ...jobs]) })
  const submit = async (user: string, ...args: string[]) => {
    const out = await sh(['runuser', '-u', user, '--', 'sbatch', '--parsable', '--time=5', `--output=${up.jobsDir}/dash-%j.out`, `--chdir=${up.jobsDir}`, ...args, '--wrap=sleep 120'])
    jobs.push(out.trim().split(';')[0] ?? '')
  }
  await submit('alice', '-p', 'nlp', '-w', 'gpu-h100-001', '--gres=gpu:h100:3')
  await submit('dave', '-p', 'cv', '-w', 'gpu-a10g-01', '--gres=shard:3')
  await submit('erin', '-p', 'cv', '-w', 'gpu-a10g-01', '--gres=gpu:a10g:1')
  const deadline = Date.now() + 60_000
  for (;;) {
    const states = (await sh(['squeue', '-h', '-j', jobs.join(','), '-o', '%T'])).split('\n').filter(Boolean)
    if (states.length === 3 && states.every((s) => s === 'RUNNING')) break
    if (Date.now() > deadline) throw new Error(`jobs not running after 60 s: ${states.join(' ')}`)
    await sleep(500)
  }
  const r = await steward('gpus', '--sandbox', '--json')
  t.equal(r.code, 0, r.stderr)
  const ours = JSON.parse(r.stdout) as { gpus: Array<{ partition: string; type: string; total: number; allocated: number; free: number; unavailable: number; shards: { total: number; allocated: number; free: number } }> }

  // Independently: CfgTRES for totals, AllocTRES for use, State for usability.
  const expected = new Map<string, { total: number; allocated: number; free: number; unavailable: number; shardsTotal: number; shardsAllocated: number; shardsFree: number }>()
  const tres = (text: string, key: string): number => Number(new RegExp(`(?:^|,)${key.replace('/', '\\/')}=(\\d+)`).exec(text)?.[1] ?? 0)
  for (const node of parseRecords(await sh(['scontrol', '-o', 'show', 'node']))) {
    const cfg = node.get('CfgTRES') ?? ''
    const alloc = node.get('AllocTRES') ?? ''
    const gpus = tres(cfg, 'gres/gpu')
    if (gpus === 0) continue
    const type = /gpu:([^:,(]+):\d+/.exec(node.get('Gres') ?? '')?.[1] ?? ''
    const state = node.get('State') ?? ''
    const usable = /^(?:IDLE|MIXED|ALLOCATED)$/.test(state)
    for (const partition of (node.get('Partitions') ?? '').split(',')) {
      const e = expected.get(`${partition}/${type}`) ?? { total: 0, allocated: 0, free: 0, unavailable: 0, shardsTotal: 0, shardsAllocated: 0, shardsFree: 0 }
      e.total += gpus
      e.allocated += tres(alloc, 'gres/gpu')
      e.shardsTotal += tres(cfg, 'gres/shard')
      e.shardsAllocated += tres(alloc, 'gres/shard')
      if (usable) {
        e.free += gpus - tres(alloc, 'gres/gpu')
        e.shardsFree += tres(cfg, 'gres/shard') - tres(alloc, 'gres/shard')
      } else e.unavailable += gpus - tres(alloc, 'gres/gpu')
      expected.set(`${partition}/${type}`, e)
    }
  }
  t.same(new Map(ours.gpus.map((g) => [`${g.partition}/${g.type}`, {
    total: g.total, allocated: g.allocated, free: g.free, unavailable: g.unavailable, shardsTotal: g.shards.total, shardsAllocated: g.shards.allocated, shardsFree: g.shards.free,
  }])), expected)
  t.match(ours.gpus.find((g) => g.partition === 'nlp'), { allocated: 3 }, 'the H100 job is seen')
  t.match(ours.gpus.find((g) => g.partition === 'cv'), { allocated: 1, shards: { allocated: 3 } }, 'the A10G GPU and shard jobs are seen')
})

// The app of the last two tests: a store with campus and a token per role, reading the sandbox.
// Its spec has prices and a budget for nlp (the sandbox's Slurm does not need them: usage
// and budgets are computed by the service), so the usage page draws the burn-down.
const priced = {
  ...spec,
  pricing: { currency: 'USD', nodeGroups: { h100: 28_800, a10g: 14_400, cpu: 345_600 } },
  budgets: { departments: [{ department: 'nlp', monthly: 1000, thresholds: [50, 80, 100], onExceeded: 'notify' as const, notify: ['pi-nlp@example.edu'] }] },
}
const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-dashboard-')) })
await seedCluster(store, createRevisionService(store), priced, { description: 'campus on the sandbox', source: 'test', message: 'seed' })
const token = async (role: Role, departments: string[], user: string | null): Promise<{ secret: string; id: string }> => {
  const secret = newTokenSecret()
  const record = await store.createToken({ secretHash: hashTokenSecret(secret), role, departments, user, cluster: role === 'admin' ? null : 'campus', description: 'test', createdBy: 'test' })
  return { secret, id: record.id }
}
const tokens = { admin: await token('admin', [], null), nlp: await token('department-admin', ['nlp'], null), alice: await token('researcher', [], 'alice') }
const state = createClusterStateService({ executorFor: async () => sandboxExecutor(sandboxTarget()), cacheMs: 0 })
// Usage and budgets read the sandbox's slurmdbd (sacct); reads never start an apply.
const budgets = createBudgetService({
  store, log: { info: () => undefined, error: () => undefined },
  engine: { start: () => Promise.reject(new Error('the dashboard test starts no apply')) } as unknown as ApplyEngine,
  profileFor: async (cluster) => ({ cluster, executor: sandboxExecutor(sandboxTarget()), configDir: '/x', renderOptions: () => ({}), restart: ['true'], reconfigure: ['true'] }),
})
const app = await buildApp({ store, clusterState: state, budgets, usageProvider: budgetUsageProvider(budgets) }, { logger: false })
const address = await app.listen({ port: 0, host: '127.0.0.1' })
t.teardown(async () => {
  await app.close()
  await store.close()
})

t.test('reliability: two failures and a planned drain are counted as the events imply', async (t) => {
  const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000)
  const update = (node: string, ...words: string[]) => ex.run(['scontrol', 'update', `nodename=${node}`, ...words])
  const outage = async (node: string, state: string, reason: string, ms: number): Promise<void> => {
    const r = await update(node, `state=${state}`, `reason=${reason}`)
    if (r.code !== 0) throw new Error(`scontrol update ${node} state=${state}: ${r.stderr}`)
    await sleep(ms)
    // ReturnToService=2 may have taken a DOWN node back already when slurmd re-registered:
    // then resume is refused ("Invalid node state"), and the event is closed anyway.
    const back = await update(node, 'state=resume')
    if (back.code !== 0 && !/Invalid node state/.test(back.stderr)) throw new Error(`resume ${node}: ${back.stderr}`)
  }
  await outage('gpu-h100-002', 'down', 'gpu xid 79', 3000)
  await outage('cpu-002', 'down', 'bad DIMM', 2000)
  await outage('gpu-a10g-02', 'drain', 'planned maintenance: firmware', 2000)

  // What the events say, read here with sacctmgr (slurmctld sends them to slurmdbd in the
  // background: wait, bounded, until the three are closed).
  const ours = ['gpu-h100-002', 'cpu-002', 'gpu-a10g-02']
  let events: Array<{ node: string; start: number; end: number; state: string }> = []
  const deadline = Date.now() + 60_000
  for (;;) {
    const out = await sh(['env', 'TZ=UTC', 'sacctmgr', '-n', '-P', 'show', 'event', 'Event=node', `Start=${since.toISOString().slice(0, 19)}`, `Nodes=${ours.join(',')}`, 'format=NodeName,TimeStart,TimeEnd,State'])
    events = out.split('\n').filter(Boolean).map((l) => l.split('|')).map(([node = '', start = '', end = '', state = '']) => ({ node, start: Date.parse(`${start}Z`), end: end === 'Unknown' ? NaN : Date.parse(`${end}Z`), state }))
    if (ours.every((n) => events.some((e) => e.node === n && !Number.isNaN(e.end)))) break
    if (Date.now() > deadline) throw new Error(`events not closed in slurmdbd after 60 s: ${out}`)
    await sleep(1000)
  }
  // A resumed node shows as not responding (IDLE*) until its slurmd answers: the live part of
  // `unhealthy` reads Slurm's state, so wait (bounded) until the three are idle again.
  for (const until = Date.now() + 60_000; ;) {
    const states = (await sh(['sinfo', '-h', '-N', '-n', ours.join(','), '-o', '%T'])).split('\n').filter(Boolean)
    if (states.every((x) => x === 'idle')) break
    if (Date.now() > until) throw new Error(`nodes not idle after 60 s: ${states.join(' ')}`)
    await sleep(1000)
  }
  const r = await fetch(`${address}/v1/clusters/campus/reliability?since=${since.toISOString()}&nodes=64&checkpointSeconds=300`, { headers: { authorization: `Bearer ${tokens.admin.secret}` } })
  t.equal(r.status, 200)
  const body = await r.json() as { groups: Array<{ group: string; failures: number; planned: number; mtbfHours: number | null; mttrHours: number | null; unhealthy: Array<{ node: string }>; job?: { meanHoursBetweenFailures: number | null } }>; window: { from: string; to: string } }
  const group = (name: string) => body.groups.find((x) => x.group === name)
  const downH = (node: string): number => events.filter((e) => e.node === node).reduce((a, e) => a + (e.end - e.start), 0) / 3_600_000
  t.match(group('h100'), { failures: 1, planned: 0 })
  t.match(group('cpu'), { failures: 1, planned: 0 })
  t.match(group('a10g'), { failures: 0, planned: 1, mtbfHours: null, mttrHours: null }, 'the planned drain is not a failure')
  t.equal(group('h100')?.mttrHours, downH('gpu-h100-002'), 'h100 repair time is the DOWN event\'s length')
  t.equal(group('cpu')?.mttrHours, downH('cpu-002'), 'cpu repair time is the DOWN event\'s length')
  // MTBF: in-service node-hours per failure: every node of the group for the whole window,
  // less the time the events (all of them: the sandbox's not-emulated nodes are DOWN from
  // before the window, when slurmdbd recorded it) say it was out, clipped to the window.
  const from = Date.parse(body.window.from)
  const to = Date.parse(body.window.to)
  const all = (await sh(['env', 'TZ=UTC', 'sacctmgr', '-n', '-P', 'show', 'event', 'Event=node', `Start=${body.window.from.slice(0, 19)}`, `End=${body.window.to.slice(0, 19)}`, 'format=NodeName,TimeStart,TimeEnd']))
    .split('\n').filter(Boolean).map((l) => l.split('|')).map(([node = '', start = '', end = '']) => ({ node, start: Date.parse(`${start}Z`), end: end === 'Unknown' ? to : Date.parse(`${end}Z`) }))
  for (const [name, prefix] of [['h100', 'gpu-h100-'], ['cpu', 'cpu-']] as const) {
    const nodes = expandHostlist(spec.nodeGroups.find((g) => g.name === name)?.nodes ?? '').length
    const out = all.filter((e) => e.node.startsWith(prefix)).reduce((a, e) => a + Math.max(0, Math.min(e.end, to) - Math.max(e.start, from)), 0)
    const expected = (nodes * (to - from) - out) / 3_600_000
    t.ok(Math.abs((group(name)?.mtbfHours ?? 0) - expected) < 1e-9, `${name} MTBF ${group(name)?.mtbfHours} h = ${expected} h`)
    t.ok(Math.abs((group(name)?.job?.meanHoursBetweenFailures ?? 0) - expected / 64) < 1e-9, `${name}: a 64-node job fails every MTBF/64 h`)
  }
  t.notOk(group('h100')?.unhealthy.some((u) => u.node === 'gpu-h100-002'), 'the node is back')
  const cli = await steward('reliability', '--spec', campusFile, '--sandbox', '--since', since.toISOString(), '--nodes', '64')
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, /\nh100\s+16\s+1\s+0\s/)
})

t.test('the dashboard in headless Chromium for an admin, a department admin and a researcher', async (t) => {
  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
  t.teardown(() => browser.close())

  /** A page that records console errors, failed requests and error responses. */
  async function open(viewport = { width: 1280, height: 800 }): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`))
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`) })
    return { page, problems }
  }
  async function signIn(page: Page, secret: string): Promise<void> {
    await page.goto(`${address}/ui/login`)
    await page.fill('#token', secret)
    await Promise.all([page.waitForURL(/\/ui\/clusters\/campus$/), page.click('button[type=submit]')])
  }
  async function visit(page: Page, path: string, shot: string): Promise<string> {
    const response = await page.goto(`${address}${path}`)
    t.equal(response?.status(), 200, `${shot}: ${path} loads`)
    const file = join(screenshots, `${shot}.png`)
    await page.screenshot({ path: file, fullPage: true })
    t.ok(statSync(file).size > 5_000, `${shot}: screenshot written (${statSync(file).size} bytes)`)
    return page.innerText('body')
  }

  /** On the usage page: nlp's budget burn-down is drawn (a bar a day so far, the 50 % and 80 % marks and the budget line) and has a size on screen. */
  async function burnDown(page: Page, who: string): Promise<void> {
    await page.goto(`${address}/ui/clusters/campus/usage`)
    const chart = page.locator('svg[aria-label="spend to date against the budget of nlp"]')
    t.equal(await chart.count(), 1, `${who}: nlp's burn-down is on the usage page`)
    // A bar a day from the first day with spend (the test's jobs ran today) through today; none for the days to come.
    const today = new Date().toISOString().slice(0, 10)
    const titles = await chart.locator('rect title').allTextContents()
    t.ok(titles.length >= 1, `${who}: spend to date is drawn (${titles.length} bar(s))`)
    t.same(titles.filter((title) => title.slice(0, 10) > today), [], `${who}: no bar for a day after today (${today})`)
    t.same(await chart.locator('text.label').allTextContents(), ['50 %', '80 %', 'budget 1000.00'], `${who}: the thresholds and the budget marked`)
    const box = await chart.boundingBox()
    t.ok(box && box.width > 100 && box.height > 50, `${who}: drawn with a size (${JSON.stringify(box)})`)
    await chart.screenshot({ path: join(screenshots, `${who}-burn-down.png`) })
  }

  const pages = ['/ui/clusters/campus', '/ui/clusters/campus/reliability?days=1&nodes=64', '/ui/clusters/campus/usage', '/ui/me?cluster=campus']
  const admin = await open()
  await signIn(admin.page, tokens.admin.secret)
  for (const [i, path] of [...pages, '/ui/clusters/campus/applies', '/ui/audit'].entries()) await visit(admin.page, path, `admin-${i + 1}`)
  await burnDown(admin.page, 'admin')
  t.same(admin.problems, [], 'admin: no console error, no failed request')

  const nlp = await open()
  await signIn(nlp.page, tokens.nlp.secret)
  for (const [i, path] of pages.entries()) {
    const text = await visit(nlp.page, path, `department-admin-${i + 1}`)
    t.notMatch(text, /\b(cv|dl|chen|okafor|dave|erin|frank|Computer Vision|Deep Learning)\b/, `${path}: nothing of the other departments`)
  }
  await burnDown(nlp.page, 'department-admin')
  t.same(nlp.problems, [], 'department admin: no console error, no failed request')

  const alice = await open({ width: 390, height: 844 })
  await signIn(alice.page, tokens.alice.secret)
  for (const [i, path] of pages.entries()) await visit(alice.page, path, `researcher-phone-${i + 1}`)
  t.match(await alice.page.innerText('body'), /alice, uid 200001/)
  t.same(alice.problems, [], 'researcher: no console error, no failed request')

  // A forged POST (no CSRF field) with the signed-in cookie is refused, and changes nothing.
  const forged = await alice.page.request.post(`${address}/ui/logout`, { form: { _csrf: 'forged' }, maxRedirects: 0 })
  t.equal(forged.status(), 403)
  t.equal((await alice.page.goto(`${address}/ui/me`))?.url(), `${address}/ui/me`, 'still signed in')

  // Revoked through the API (the service forgets the token at once; one revoked in the store by
  // another process stops within the token cache's lifetime: test/ui/dashboard.test.ts): the next
  // page goes to sign-in, saying why.
  const revoked = await fetch(`${address}/v1/tokens/${tokens.alice.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${tokens.admin.secret}` } })
  t.ok(revoked.ok, `DELETE /v1/tokens answered ${revoked.status}`)
  await alice.page.goto(`${address}/ui/clusters/campus`)
  t.equal(alice.page.url(), `${address}/ui/login?why=revoked`)
  t.match(await alice.page.innerText('body'), /revoked/)
  await alice.page.screenshot({ path: join(screenshots, 'researcher-revoked.png') })
  t.comment(`screenshots in ${screenshots}`)
})
