/**
 * Property test of src/slurm/hostlist.ts against the real Slurm parser
 * (`scontrol show hostnames|hostlist|hostlistsorted`, no slurmctld needed).
 *
 * Findings on Debian's slurm-client 22.05.8 (all but the first are pinned by
 * the first test below, so a Slurm upgrade that changes them is noticed):
 * - scontrol needs a slurm.conf even for these offline commands and for
 *   --version (it dies with "Could not establish a configuration source"
 *   otherwise), so we write a minimal one to a temp dir and set SLURM_CONF for
 *   the child processes only.
 * - Invalid input prints "Invalid hostlist: ..." on stderr and still exits 0,
 *   so stderr output is treated as failure here.
 * - Duplicates: `show hostnames 'n[1-3],n2,n[1-2]'` keeps them all, in order
 *   (n1 n2 n3 n2 n1 n2); `show hostlist 'n3,n1,n2,n2'` keeps them and the input
 *   order too (n[3,1-2,2]); `show hostlistsorted` sorts but still does not
 *   dedup (n[1,1]). expandHostlist keeps duplicates; compressHostlist dedups
 *   (its contract is the set).
 * - Padding: n[1-10] and n[01-10] are different hosts (n1.. vs n01..). The
 *   width comes from the low bound only: n[9-010] is n9,n10 and n[001-10] is
 *   n001..n010. Mixed paddings share one bracket: hostlistsorted of
 *   n1,n01,n2,n02,n10,n010 prints n[1-2,01-02,10,010]; a padded range runs on
 *   into wider numbers (n098,n099,n100 -> n[098-100]).
 * - Text after the last bracket is rejected (`node[1-3]-ib`, `n[1-2].x` are
 *   "Invalid hostlist"); text between brackets is fine (n[1-2]-ib[1-2]).
 *   Names like node1-ib are kept literally by `show hostlist`.
 * - The limit is per bracket range ("Too many hosts in range" above 65,536:
 *   n[0-65535] is fine, n[0-65536] is not); a[1-40000],b[1-40000] is accepted.
 *   We enforce 65,536 per expression, which is stricter.
 * - scontrol is laxer than us: it skips empty items (a,,b), splits on spaces,
 *   reads n[3-] as n3 and n[1-3 as "n"; we reject all of these.
 * - Groups are ordered with strnatcmp (rack2-n1 before rack10-n1, but
 *   n0087-bmc before n81-bmc), names without digits before n[...] groups.
 * - hostlistsorted is not canonical for mixed paddings: its comparator
 *   mutates range widths, so n9,n10,n05 gives n[9-10,05] but n10,n05,n9 gives
 *   n[9,05,10] (what we print). Apart from such cases our output is identical
 *   (the property test below reports how many); only the set is the contract.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { compressHostlist, expandHostlist } from '../../src/slurm/hostlist.js'

const run = promisify(execFile)

const confDir = await mkdtemp(join(tmpdir(), 'hostlist-oracle-'))
t.teardown(() => rm(confDir, { recursive: true, force: true }))
const slurmConf = join(confDir, 'slurm.conf')
await writeFile(
  slurmConf,
  'ClusterName=oracle\nSlurmctldHost=localhost\nNodeName=localhost\nPartitionName=p Nodes=localhost\n',
)
const env = { ...process.env, SLURM_CONF: slurmConf }

let version: string
try {
  version = (await run('scontrol', ['--version'], { env })).stdout.trim()
} catch (err) {
  // CI installs Slurm, so a missing scontrol is a broken environment, not a reason to skip.
  t.fail(`scontrol is not runnable (${(err as Error).message}); install Slurm's client (Debian: slurm-client)`)
  await rm(confDir, { recursive: true, force: true })
  process.exit(1)
}
t.comment(`oracle: ${version}`)

/** Runs `scontrol show <what> <arg>` (argv, no shell) and returns its output lines. */
async function scontrol(what: 'hostnames' | 'hostlist' | 'hostlistsorted', arg: string): Promise<string[]> {
  const { stdout, stderr } = await run('scontrol', ['show', what, arg], { env, maxBuffer: 64 * 1024 * 1024 })
  // scontrol reports "Invalid hostlist" on stderr with exit status 0.
  if (stderr.trim() !== '') throw new Error(`scontrol show ${what} ${JSON.stringify(arg)}: ${stderr.trim()}`)
  return stdout.split('\n').filter((line) => line !== '')
}

const sorted = (hosts: Iterable<string>): string[] => [...hosts].sort()

t.test('The recorded scontrol findings still hold.', async (t) => {
  // Prepare / Act / Assess: one probe per finding in the header comment.
  t.same(await scontrol('hostnames', 'n[1-3],n2,n[1-2]'), ['n1', 'n2', 'n3', 'n2', 'n1', 'n2'], 'duplicates kept')
  t.same(await scontrol('hostlist', 'n3,n1,n2,n2'), ['n[3,1-2,2]'], 'hostlist keeps duplicates and order')
  t.same(await scontrol('hostlistsorted', 'n1,n1'), ['n[1,1]'], 'hostlistsorted does not dedup')
  t.same(await scontrol('hostnames', 'n[9-010]'), ['n9', 'n10'], 'width comes from the low bound')
  t.equal((await scontrol('hostnames', 'n[001-10]'))[0], 'n001')
  t.not((await scontrol('hostnames', 'n[1-10]'))[0], (await scontrol('hostnames', 'n[01-10]'))[0])
  t.same(await scontrol('hostlistsorted', 'n1,n01,n2,n02,n10,n010'), ['n[1-2,01-02,10,010]'], 'mixed padding')
  t.same(await scontrol('hostlistsorted', 'n098,n099,n100'), ['n[098-100]'], 'padding runs into wider numbers')
  await t.rejects(scontrol('hostnames', 'node[1-3]-ib'), /Invalid hostlist/, 'suffix after a bracket is rejected')
  t.same(await scontrol('hostlistsorted', 'node2-ib,node1-ib'), ['node1-ib,node2-ib'], 'suffixed names stay literal')
  t.equal((await scontrol('hostnames', 'n[0-65535]')).length, 65_536, '65,536 hosts in one range are fine')
  await t.rejects(scontrol('hostnames', 'n[0-65536]'), /Too many hosts/, '65,537 hosts in one range are not')
  t.equal((await scontrol('hostnames', 'a[1-40000],b[1-40000]')).length, 80_000, 'the limit is per range')
  t.same(await scontrol('hostnames', 'a,,b'), ['a', 'b'], 'empty items are skipped')
  t.same(await scontrol('hostnames', 'n[3-]'), ['n3'], 'an open-ended range is read as its low bound')
  t.same(
    await scontrol('hostlistsorted', 'rack10-n1,rack2-n1,n81-bmc,n0087-bmc'),
    ['n0087-bmc,n81-bmc,rack2-n1,rack10-n1'],
    'strnatcmp order of groups',
  )
  t.same(await scontrol('hostlistsorted', 'n9,n10,n05'), ['n[9-10,05]'], 'mixed padding, one input order')
  t.same(await scontrol('hostlistsorted', 'n10,n05,n9'), ['n[9,05,10]'], 'mixed padding, another input order')
  t.equal(compressHostlist(['n9', 'n10', 'n05']), 'n[9,05,10]', 'we print one of the two')
})

/** Tiny seeded PRNG (mulberry32) so every run checks the same cases. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const rand = mulberry32(0x5eed)
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1))
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T

const PREFIXES = ['gpu-', 'n', 'rack1-node', 'gpu-h100-', 'cpu', 'login', 'a.b-', 'x_y', 'rack10-n', '']
const SUFFIXES = ['-ib', '.mgmt', '-bmc']
const LITERALS = ['ctl', 'login', 'head-node', 'nfs.storage']

/** A random node set: a few prefixes, random widths/padding, gaps, sometimes suffixes and duplicates. */
function randomNames(): string[] {
  const names: string[] = []
  for (let g = int(1, 3); g > 0; g--) {
    const prefix = pick(PREFIXES)
    const suffix = rand() < 0.15 ? pick(SUFFIXES) : ''
    const width = int(1, 4)
    const padded = rand() < 0.5
    // Sometimes mix n1 and n01 style names under one prefix, the case Slurm handles specially.
    const mixed = rand() < 0.25
    let n = int(0, Math.min(10 ** width - 1, 120))
    for (let count = int(1, 60); count > 0; count--) {
      const digits = (mixed ? rand() < 0.5 : padded) ? String(n).padStart(width, '0') : String(n)
      names.push(prefix + digits + suffix)
      n += rand() < 0.7 ? 1 : int(2, 6)
    }
  }
  if (rand() < 0.2) names.push(pick(LITERALS))
  if (rand() < 0.3) names.push(...names.slice(0, int(1, 5)))
  // Shuffle so neither side can rely on input order.
  for (let i = names.length - 1; i > 0; i--) {
    const j = int(0, i)
    ;[names[i], names[j]] = [names[j] as string, names[i] as string]
  }
  return names
}

t.test('compressHostlist round-trips and agrees with scontrol on 200 random node sets.', async (t) => {
  let exactlyLikeSlurm = 0
  for (let i = 0; i < 200; i++) {
    // Prepare
    const names = randomNames()
    const set = sorted(new Set(names))
    // Act
    const compressed = compressHostlist(names)
    const ours = expandHostlist(compressed)
    const theirs = await scontrol('hostnames', compressed)
    const slurmCompressed = await scontrol('hostlist', names.join(','))
    const slurmSorted = await scontrol('hostlistsorted', [...new Set(names)].join(','))
    // Assess
    const label = `case ${i}: ${compressed}`
    t.same(sorted(ours), set, `(a) expand(compress(set)) is the set, ${label}`)
    t.equal(ours.length, set.length, `(a) no duplicates, ${label}`)
    t.same(theirs, ours, `(b) scontrol expands our output exactly like we do, ${label}`)
    t.same(sorted(new Set(expandHostlist(slurmCompressed.join(',')))), set, `(c) we expand scontrol's hostlist, ${label}`)
    // Not asserted (Slurm's own order can depend on input order), but reported.
    if (slurmSorted.join(',') === compressed) exactlyLikeSlurm++
    else t.comment(`differs from hostlistsorted: ours ${compressed}, Slurm ${slurmSorted.join(',')}`)
  }
  t.comment(`${exactlyLikeSlurm}/200 compressed strings are identical to scontrol show hostlistsorted`)
})

/** A random expression: items with one or two brackets, value lists, padded or mixed-width bounds. */
function randomExpression(): string {
  const bracket = (): string => {
    const parts: string[] = []
    for (let k = int(1, 3); k > 0; k--) {
      const lo = int(0, 120)
      const loText = rand() < 0.4 ? String(lo).padStart(int(1, 4), '0') : String(lo)
      parts.push(rand() < 0.3 ? loText : `${loText}-${rand() < 0.2 ? String(lo + int(0, 30)).padStart(4, '0') : lo + int(0, 30)}`)
    }
    return `[${parts.join(',')}]`
  }
  const items: string[] = []
  for (let k = int(1, 3); k > 0; k--) {
    const prefix = pick(PREFIXES.filter((p) => p !== ''))
    items.push(rand() < 0.3 ? `${prefix}${bracket()}-x${bracket()}` : `${prefix}${bracket()}`)
  }
  return items.join(',')
}

t.test('expandHostlist matches scontrol show hostnames on 100 random expressions.', async (t) => {
  for (let i = 0; i < 100; i++) {
    // Prepare
    const expr = randomExpression()
    // Act
    const ours = expandHostlist(expr)
    const theirs = await scontrol('hostnames', expr)
    // Assess: same hosts, same order, same duplicates.
    t.same(ours, theirs, `case ${i}: ${expr}`)
  }
})
