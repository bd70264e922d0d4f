import t from 'tap'
import {
  HostlistError,
  MAX_HOSTLIST_HOSTS,
  compressHostlist,
  countHostlist,
  expandHostlist,
  hostsAreDistinct,
  isHostlistExpression,
} from '../../src/slurm/hostlist.js'

// Expected values below were taken from `scontrol show hostnames` (Slurm 22.05.8)
// unless the case says otherwise.
const expansions: { name: string; expr: string; hosts: string[] }[] = [
  { name: 'a plain host name expands to itself', expr: 'login1', hosts: ['login1'] },
  { name: 'an empty expression expands to no hosts', expr: '', hosts: [] },
  { name: 'a zero-padded range keeps its padding', expr: 'gpu-[001-003]', hosts: ['gpu-001', 'gpu-002', 'gpu-003'] },
  { name: 'an unpadded range grows in width naturally', expr: 'n[8-11]', hosts: ['n8', 'n9', 'n10', 'n11'] },
  { name: 'a padded range takes its width from the low bound', expr: 'n[08-11]', hosts: ['n08', 'n09', 'n10', 'n11'] },
  { name: 'a padded high bound does not pad an unpadded low bound', expr: 'n[9-010]', hosts: ['n9', 'n10'] },
  {
    name: 'a bracket may hold several ranges and single values in written order',
    expr: 'gpu-[001-003,007,010-012]',
    hosts: ['gpu-001', 'gpu-002', 'gpu-003', 'gpu-007', 'gpu-010', 'gpu-011', 'gpu-012'],
  },
  { name: 'a single-value bracket expands to one host', expr: 'n[7]', hosts: ['n7'] },
  { name: 'top-level commas separate items', expr: 'a1,b[1-2],c', hosts: ['a1', 'b1', 'b2', 'c'] },
  {
    name: 'several brackets expand as a cartesian product with the last varying fastest',
    expr: 'rack[1-2]-node[01-03]',
    hosts: ['rack1-node01', 'rack1-node02', 'rack1-node03', 'rack2-node01', 'rack2-node02', 'rack2-node03'],
  },
  { name: 'adjacent brackets also form a product', expr: 'n[1-2][1-2]', hosts: ['n11', 'n12', 'n21', 'n22'] },
  {
    name: 'a suffix after the bracket is appended to every host (an extension over Slurm 22.05)',
    expr: 'node[1-3]-ib',
    hosts: ['node1-ib', 'node2-ib', 'node3-ib'],
  },
  { name: 'a bracket without a prefix yields bare numbers', expr: '[1-3]', hosts: ['1', '2', '3'] },
  { name: 'dots and underscores are valid name characters', expr: 'a_b.c[1-2]', hosts: ['a_b.c1', 'a_b.c2'] },
  { name: 'duplicates are kept like scontrol show hostnames', expr: 'n[1-3],n2,n[1-2]', hosts: ['n1', 'n2', 'n3', 'n2', 'n1', 'n2'] },
]

for (const c of expansions) {
  t.test(`Expanding: ${c.name}.`, async (t) => {
    // Prepare: the expression comes from the table.
    // Act
    const hosts = expandHostlist(c.expr)
    // Assess
    t.same(hosts, c.hosts)
    t.equal(countHostlist(c.expr), c.hosts.length, 'countHostlist agrees with the expansion')
  })
}

// Expected strings are what `scontrol show hostlistsorted` prints for the same names.
const compressions: { name: string; hosts: string[]; expr: string }[] = [
  { name: 'no hosts compress to the empty string', hosts: [], expr: '' },
  { name: 'a single numbered host is written without brackets', hosts: ['n1'], expr: 'n1' },
  { name: 'consecutive padded hosts merge into one range', hosts: ['gpu-h100-002', 'gpu-h100-001'], expr: 'gpu-h100-[001-002]' },
  { name: 'numbers are sorted numerically, not as text', hosts: ['n10', 'n9', 'n11', 'n1'], expr: 'n[1,9-11]' },
  { name: 'gaps split the numbers into several ranges', hosts: ['n1', 'n2', 'n3', 'n5', 'n7', 'n8'], expr: 'n[1-3,5,7-8]' },
  { name: 'duplicates are dropped', hosts: ['n1', 'n1', 'n2'], expr: 'n[1-2]' },
  { name: 'a padded range continues into wider numbers', hosts: ['n098', 'n099', 'n100', 'n101'], expr: 'n[098-101]' },
  { name: 'an unpadded range continues into wider numbers', hosts: ['n99', 'n100'], expr: 'n[99-100]' },
  {
    name: 'different paddings stay separate ranges inside one bracket',
    hosts: ['n1', 'n01', 'n2', 'n02', 'n10', 'n010'],
    expr: 'n[1-2,01-02,10,010]',
  },
  { name: 'zero and its padded forms stay distinct', hosts: ['n0', 'n00', 'n000', 'n1'], expr: 'n[0-1,00,000]' },
  {
    name: 'prefixes are ordered naturally and names without digits come first',
    hosts: ['b2', 'a1', 'a3', 'c', 'a', 'rack10-n1', 'rack2-n1'],
    expr: 'a,a[1,3],b2,c,rack2-n1,rack10-n1',
  },
  {
    name: 'only the last run of digits becomes a range',
    hosts: ['rack1-node01', 'rack1-node02', 'rack2-node01'],
    expr: 'rack1-node[01-02],rack2-node01',
  },
  {
    name: 'names with text after their digits are written as-is because Slurm rejects node[1-2]-ib',
    hosts: ['node2-ib', 'node1-ib'],
    expr: 'node1-ib,node2-ib',
  },
  { name: 'bare numbers compress with an empty prefix', hosts: ['3', '1', '2', 'a'], expr: '[1-3],a' },
]

for (const c of compressions) {
  t.test(`Compressing: ${c.name}.`, async (t) => {
    // Prepare: the host names come from the table.
    // Act
    const expr = compressHostlist(c.hosts)
    // Assess
    t.equal(expr, c.expr)
    t.same(new Set(expandHostlist(expr)), new Set(c.hosts), 'the result expands back to the same set')
  })
}

const roundTrips: string[] = [
  'gpu-[001-016]',
  'n[1-10],n[01-10]',
  'rack[1-3]-node[001-032],login[1-2],ctl',
  'gpu-[001-003,007,010-012],cpu[9-12]',
  'n[0-65535]',
]

for (const expr of roundTrips) {
  t.test(`Round trip: compressing the expansion of ${expr} gives back the same set of hosts.`, async (t) => {
    // Prepare
    const hosts = expandHostlist(expr)
    // Act
    const again = expandHostlist(compressHostlist(hosts))
    // Assess
    t.equal(again.length, new Set(hosts).size, 'no host is lost or duplicated')
    t.same(new Set(again), new Set(hosts))
  })
}

const errors: { name: string; expr: string; message: RegExp }[] = [
  { name: 'an unclosed bracket', expr: 'n[1-3', message: /unclosed "\["/ },
  { name: 'a closing bracket without an opening one', expr: 'n1-3]', message: /"\]" without "\["/ },
  { name: 'a nested bracket', expr: 'n[1-[2]]', message: /nested "\["/ },
  { name: 'an empty bracket', expr: 'n[]', message: /empty range/ },
  { name: 'an empty value in a bracket list', expr: 'n[1-2,]', message: /empty range/ },
  { name: 'a reversed range', expr: 'n[5-3]', message: /reversed range "5-3"/ },
  { name: 'letters inside a bracket', expr: 'n[a-b]', message: /digits only inside brackets/ },
  { name: 'a negative bound', expr: 'n[1--2]', message: /digits only inside brackets/ },
  { name: 'an open-ended range', expr: 'n[3-]', message: /digits only inside brackets/ },
  { name: 'a space between names', expr: 'a b', message: /may only contain/ },
  { name: 'a slash in a name', expr: 'gpu/1', message: /may only contain/ },
  { name: 'an empty item between commas', expr: 'a,,b', message: /empty item/ },
  { name: 'a trailing comma', expr: 'a,', message: /empty item/ },
  { name: 'a number too large to be exact', expr: 'n[1-9999999999999999]', message: /too large/ },
  { name: 'a range one host over the limit', expr: 'n[1-65537]', message: /more than 65536 hosts/ },
  { name: 'a product of brackets over the limit', expr: 'n[1-300][1-300]', message: /more than 65536 hosts/ },
  { name: 'several items that together pass the limit', expr: 'a[1-40000],b[1-40000]', message: /more than 65536 hosts/ },
]

for (const c of errors) {
  t.test(`Expanding rejects ${c.name} with a HostlistError.`, async (t) => {
    // Prepare: the malformed expression comes from the table.
    // Act
    const act = (): string[] => expandHostlist(c.expr)
    // Assess
    t.throws(act, HostlistError)
    t.throws(act, { name: 'HostlistError', message: c.message })
    t.throws(() => countHostlist(c.expr), HostlistError, 'countHostlist rejects it too')
    t.equal(isHostlistExpression(c.expr), false, 'the validator rejects it')
  })
}

t.test('The 65,536-host limit accepts exactly 65,536 hosts and rejects 65,537.', async (t) => {
  // Prepare
  const atLimit = `n[1-${MAX_HOSTLIST_HOSTS}]`
  const overLimit = `n[1-${MAX_HOSTLIST_HOSTS}],extra`
  // Act
  const hosts = expandHostlist(atLimit)
  // Assess
  t.equal(hosts.length, 65_536)
  t.equal(hosts.at(-1), 'n65536')
  t.equal(isHostlistExpression(atLimit), true)
  t.throws(() => expandHostlist(overLimit), { name: 'HostlistError', message: /more than 65536 hosts/ })
  t.equal(isHostlistExpression(overLimit), false)
})

t.test('Compressing rejects more distinct hosts than the limit and invalid names.', async (t) => {
  // Prepare
  const tooMany = Array.from({ length: MAX_HOSTLIST_HOSTS + 1 }, (_, i) => `n${i}`)
  // Act / Assess
  t.throws(() => compressHostlist(tooMany), HostlistError)
  t.throws(() => compressHostlist(['n1', 'n[2]']), HostlistError)
  t.throws(() => compressHostlist(['n1', '']), HostlistError)
  t.throws(() => compressHostlist(['a,b']), HostlistError)
})

t.test('Compressing 65,536 shuffled names takes well under a second.', async (t) => {
  // Prepare: shuffle deterministically so the sort has real work to do.
  const hosts = Array.from({ length: MAX_HOSTLIST_HOSTS }, (_, i) => `gpu-h100-${String((i * 40_503) % 65_536).padStart(5, '0')}`)
  // Act
  const started = performance.now()
  const expr = compressHostlist(hosts)
  const elapsed = performance.now() - started
  // Assess
  t.equal(expr, 'gpu-h100-[00000-65535]')
  t.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`)
})

const validations: { name: string; expr: string; valid: boolean }[] = [
  { name: 'a padded range with a value list is valid', expr: 'gpu-[001-016,020]', valid: true },
  { name: 'a comma-separated list of items is valid', expr: 'login1,gpu-[001-016],n[1-2]', valid: true },
  { name: 'a plain name is valid', expr: 'ctl.example.org', valid: true },
  { name: 'the empty string is not a hostlist', expr: '', valid: false },
  { name: 'a shell metacharacter is invalid', expr: 'n1;rm', valid: false },
  { name: 'a bracket that is never closed is invalid', expr: 'gpu-[001-016', valid: false },
]

for (const c of validations) {
  t.test(`Validating: ${c.name}.`, async (t) => {
    // Prepare: the expression comes from the table.
    // Act
    const valid = isHostlistExpression(c.expr)
    // Assess
    t.equal(valid, c.valid)
  })
}

// hostsAreDistinct may answer false when unsure, but never true when a host repeats.
const distinctCases: { name: string; exprs: unknown[]; distinct: boolean }[] = [
  { name: 'generated groups with their own stems are distinct', exprs: ['q1-st-cr1-[1-1310]', 'q2-st-cr1-[1-1310]'], distinct: true },
  { name: 'literal names with different stems are distinct', exprs: ['login', 'head-a,head-b'], distinct: true },
  { name: 'disjoint ranges of one bracket are distinct', exprs: ['n[1-3,5,7-9]'], distinct: true },
  { name: 'the same range twice repeats hosts', exprs: ['n[1-3]', 'n[1-3]'], distinct: false },
  { name: 'overlapping ranges in one bracket repeat a host', exprs: ['n[1-5,5-7]'], distinct: false },
  { name: 'a stem ending in digits is not trusted against a shorter one', exprs: ['n[10-11]', 'n1[0-1]'], distinct: false },
  { name: 'two items of one stem are left to comparison', exprs: ['gpu[1-2],gpu[3-4]'], distinct: false },
  { name: 'two widths of one number are left to comparison', exprs: ['n[1-10,010]'], distinct: false },
  { name: 'several brackets in one name are left to comparison', exprs: ['rack[1-2]-node[1-2]'], distinct: false },
  { name: 'text after a bracket is left to comparison', exprs: ['n[1-2]-ib'], distinct: false },
  { name: 'an expression that does not parse is left to comparison', exprs: ['n[1-'], distinct: false },
  { name: 'a missing expression is left to comparison', exprs: [undefined], distinct: false },
]
for (const c of distinctCases) {
  t.test(`hostsAreDistinct: ${c.name}`, async (t) => {
    t.equal(hostsAreDistinct(c.exprs), c.distinct)
  })
}

t.test('hostsAreDistinct never says distinct when expanding finds a repeated host', async (t) => {
  // Random small expressions over a few stems, numbers and widths, checked against expansion.
  let seed = 7
  const next = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed % n
  }
  const stems = ['n', 'n1', 'n0', 'gpu-', 'gpu-1', '']
  const item = (): string => {
    const stem = stems[next(stems.length)] ?? 'n'
    if (next(4) === 0) return `${stem || 'x'}${next(12)}`
    const ranges = Array.from({ length: 1 + next(2) }, () => {
      const lo = next(12)
      const width = 1 + next(3)
      return `${String(lo).padStart(width, '0')}-${lo + next(4)}`
    })
    return `${stem}[${ranges.join(',')}]`
  }
  let proven = 0
  for (let i = 0; i < 3000; i++) {
    const exprs = Array.from({ length: 1 + next(3) }, () => Array.from({ length: 1 + next(2) }, item).join(','))
    const hosts = exprs.flatMap((e) => expandHostlist(e))
    const repeats = new Set(hosts).size !== hosts.length
    if (hostsAreDistinct(exprs)) {
      proven += 1
      if (repeats) t.fail(`${JSON.stringify(exprs)} repeats a host but was called distinct`)
    }
  }
  t.ok(proven > 100, `the fast answer applied to ${proven} of 3000 cases`)
})
