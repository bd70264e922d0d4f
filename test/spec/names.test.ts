/**
 * Every user-facing pattern of the spec against its worst inputs: long runs of the
 * characters a quantifier accepts, followed by a character that makes the match fail.
 * A pattern that backtracks super-linearly never finishes these (the former `home`
 * pattern took 39 s for 31 characters, doubling with each one), so this file hangs
 * until tap's timeout kills it; a linear one answers each at once. Only correctness is
 * asserted here; `npm run bench` reports the times.
 */
import t from 'tap'
import {
  ADDRESS_RE, DEVICE_RE, EMAIL_RE, FREE_TEXT_RE, HOME_RE, HOST_NAME_RE, HOSTLIST_RE, INSTANCE_GROUP_RE,
  NAME_RE, QOS_FLAG_RE, SLURM_VERSION_RE, TIME_RE, USER_NAME_RE,
} from '../../src/spec/names.js'
import { validateSpec } from '../../src/spec/validate.js'
import { parse } from 'yaml'
import { readFileSync } from 'node:fs'
import type { ClusterSpec } from '../../src/spec/schema.js'

/** Far longer than any maxLength, so even a pattern tested before its length is bounded. */
const N = 20_000
const run = (unit: string, n = N): string => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)

interface Case {
  name: string
  re: RegExp
  accept: string[]
  reject: string[]
}

const cases: Case[] = [
  {
    name: 'home',
    re: HOME_RE,
    accept: ['/', '/home/ada', '/home/ada/', '/fsx/home/a.b_c-d', `/${run('a', 200)}`],
    reject: ['', 'home', '//', '/home//ada', '/home/ada!', `/${run('a', 29)}!`, `/${run('a')}!`, `/${run('a/')}!`, `/${run('a.')}\n`, run('/')],
  },
  {
    name: 'e-mail',
    re: EMAIL_RE,
    accept: ['ada@example.org', 'first.last+tag@cs.uni-x.edu', 'a_b%c@mail.example.co.uk'],
    reject: ['ada', 'ada@', 'ada@org', 'ada@example.', 'ada@.org', '@example.org', `a@${run('a.')}1`, `a@${run('a')}`, `${run('a')}@example.org`, `a@${run('a-')}.b1`],
  },
  {
    name: 'name',
    re: NAME_RE,
    accept: ['nlp', 'a', 'gpu_h100-x', `a${run('b', 39)}`],
    reject: ['', 'Nlp', '1nlp', 'n l', `a${run('b', 40)}`, `a${run('b')}!`],
  },
  {
    name: 'user name',
    re: USER_NAME_RE,
    accept: ['ada', '_svc', `a${run('b', 31)}`],
    reject: ['', 'Ada', '1ada', `a${run('b', 32)}`, `a${run('b')}!`],
  },
  {
    name: 'host name',
    re: HOST_NAME_RE,
    accept: ['ctl', 'head-1.cluster.local', `a${run('b', 252)}`],
    reject: ['', '-ctl', 'a_b', `a${run('b', 253)}`, `a${run('.-')}!`],
  },
  {
    name: 'hostlist',
    re: HOSTLIST_RE,
    accept: ['gpu-[001-016]', 'a,b,c', 'gpu-[1-4,7,9-10],cpu[1-2]', 'n1.x'],
    reject: ['', ',a', 'a,', 'a[1-', 'a[]', 'a[1--2]', 'a b', `a${run('[1-2]')}!`, `a${run('[1,')}!`, `a${run(',b')},`, `a${run('.')}[`, `${run('a,')}!`, `a[${run('1')}`],
  },
  {
    name: 'device',
    re: DEVICE_RE,
    accept: ['/dev/nvidia0', '/dev/nvidia[0-7]', '/dev/dri/renderD[128-135]'],
    reject: ['/dev/', '/etc/passwd', '/dev/nvidia[0-7', '/dev/a b', `/dev/${run('a/')}!`, `/dev/a[${run('1,')}!`, `/dev/a[${run('1')}`],
  },
  {
    name: 'free text',
    re: FREE_TEXT_RE,
    accept: ['', 'Natural language processing (NLP) lab', run('x', 120)],
    reject: ['a#b', 'say "hi"', "it's", 'a:b', 'a\\b', 'a\nb', run('x', 121), `${run(' ')}#`],
  },
  {
    name: 'Slurm time',
    re: TIME_RE,
    accept: ['UNLIMITED', '60', '1:30', '1:00:00', '2-12', '2-12:30', '2-12:30:15'],
    reject: ['', 'unlimited', '1:', '1:2:3:4', '1-', '1-2-3', '1:300', `${run('1')}:`, `${run('1')}-1:1:1:1`, `1-${run('1')}`],
  },
  {
    name: 'Slurm version',
    re: SLURM_VERSION_RE,
    accept: ['22.05', '24.11.1'],
    reject: ['22', '2.05', '22.05.', `22.05.${run('1')}x`],
  },
  {
    name: 'controller address',
    re: ADDRESS_RE,
    accept: ['10.0.0.1', '::1', 'fe80::1', 'ctl.example.org'],
    reject: ['', '-ctl', '10.0.0.1 x', `${run('1.')}!`, `${run(':')}!`, `a${run('.-')}!`],
  },
  {
    name: 'instance group',
    re: INSTANCE_GROUP_RE,
    accept: ['gpu-workers', 'A1'],
    reject: ['-a', 'a_b', `a${run('-', 63)}`, `a${run('-')}!`],
  },
  {
    name: 'QoS flag',
    re: QOS_FLAG_RE,
    accept: ['DenyOnLimit'],
    reject: ['', 'Deny1', run('A', 41), `${run('A')}!`],
  },
]

for (const c of cases) {
  t.test(`the ${c.name} pattern answers its worst inputs correctly`, async (t) => {
    for (const input of c.accept) t.equal(c.re.test(input), true, `accepts ${JSON.stringify(input.slice(0, 40))} (${input.length} chars)`)
    for (const input of c.reject) t.equal(c.re.test(input), false, `rejects ${JSON.stringify(input.slice(0, 40))} (${input.length} chars)`)
  })
}

t.test('a spec with the backtracking home attack is refused at its path', async (t) => {
  const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
  spec.users[0]!.home = `/${run('a', 250)}!`
  spec.users[1]!.home = `/${run('a', 29)}!`
  const errors = validateSpec(spec).errors.filter((p) => p.severity === 'error')
  t.same(errors.map((e) => e.path).sort(), ['/users/0/home', '/users/1/home'])
})
