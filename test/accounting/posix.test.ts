import t from 'tap'
import { parseGetent, planPosix, posixState, readPosixState } from '../../src/accounting/posix.js'
import type { PosixUser } from '../../src/accounting/model.js'
import { desiredPosixUsers } from '../../src/accounting/desired.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import type { ExecResult, Executor } from '../../src/adapters/executor.js'

// Lines as getent prints them on Debian 12 (a key matching by name and by uid prints twice).
const passwd = [
  'alice:x:200001:200001::/home/alice:/bin/bash',
  'alice:x:200001:200001::/home/alice:/bin/bash',
  'zed:x:200002:200002:Zed:/home/zed:/bin/sh',
].join('\n')
const group = ['alice:x:200001:', 'zed:x:200002:', 'lab:x:300000:alice,zed'].join('\n')

const user = (name: string, uid: number, extra: Partial<PosixUser> = {}): PosixUser =>
  ({ name, uid, gid: uid, groupName: name, ownGroup: true, home: `/home/${name}`, ...extra })

t.test('getent lines parse into names, ids, primary gid and home', async (t) => {
  t.same(parseGetent(passwd, 'passwd')[2], { name: 'zed', id: 200002, gid: 200002, home: '/home/zed' })
  t.same(parseGetent(group, 'group').map((g) => [g.name, g.id]), [['alice', 200001], ['zed', 200002], ['lab', 300000]])
  t.same(parseGetent('garbage\n\n', 'passwd'), [])
})

const live = posixState(parseGetent(passwd, 'passwd'), parseGetent(group, 'group'))

t.test('POSIX planning creates what is missing and clashes on what belongs to someone else', async (t) => {
  const cases: Array<{ name: string; users: PosixUser[]; argv: string[][]; clashes: string[] }> = [
    { name: 'an existing user with the same uid needs nothing', users: [user('alice', 200001)], argv: [], clashes: [] },
    {
      name: 'a new user gets its own group first, then the user',
      users: [user('carol', 200003)],
      argv: [
        ['groupadd', '--gid', '200003', 'carol'],
        ['useradd', '--uid', '200003', '--gid', '200003', '--home-dir', '/home/carol', '--create-home', '--shell', '/bin/bash', 'carol'],
      ],
      clashes: [],
    },
    {
      name: 'users sharing an explicit existing gid get no groupadd',
      users: [user('dave', 200004, { gid: 300000, ownGroup: false, home: '/scratch/dave' })],
      argv: [['useradd', '--uid', '200004', '--gid', '300000', '--home-dir', '/scratch/dave', '--create-home', '--shell', '/bin/bash', 'dave']],
      clashes: [],
    },
    { name: 'a name that exists with another uid is a clash', users: [user('alice', 200009)], argv: [], clashes: ['user alice'] },
    { name: 'a uid used by another name is a clash', users: [user('bob', 200002)], argv: [], clashes: ['uid 200002'] },
    { name: 'a per-user gid that is another group is a clash', users: [user('erin', 300000)], argv: [], clashes: ['gid 300000'] },
    { name: 'a group name that exists with another gid is a clash', users: [user('lab', 200010)], argv: [], clashes: ['group lab'] },
    { name: 'every clash is reported at once', users: [user('alice', 1), user('bob', 200002)], argv: [], clashes: ['user alice', 'uid 200002'] },
  ]
  for (const c of cases) {
    const plan = planPosix(c.users, live)
    t.same(plan.problems.map((p) => p.subject), c.clashes, `${c.name}: clashes`)
    if (c.clashes.length === 0) t.same(plan.operations.map((o) => o.argv), c.argv, `${c.name}: commands`)
  }
})

t.test('an existing user whose home differs from the spec is a warning, not a change', async (t) => {
  const plan = planPosix([user('alice', 200001, { home: '/data/alice' })], live)
  t.same(plan.operations, [])
  t.equal(plan.warnings.length, 1)
})

t.test('live POSIX state is looked up by the spec\'s names and ids only, and exit 2 (some unknown) is normal', async (t) => {
  const calls: string[][] = []
  const executor: Executor = {
    target: 'fake',
    async run(argv): Promise<ExecResult> {
      calls.push([...argv])
      return { argv, code: 2, stdout: argv[1] === 'passwd' ? passwd : group, stderr: '' }
    },
    async readFile() { return undefined },
    async writeFileAtomic() {},
  }
  const state = await readPosixState(executor, [user('alice', 200001), user('carol', 200003)])
  t.same(calls, [['getent', 'passwd', 'alice', '200001', 'carol', '200003'], ['getent', 'group', 'alice', '200001', 'carol', '200003']])
  t.equal(state.usersById.get(200002)?.name, 'zed')
})

t.test('a user without home lives under the cluster\'s home root; a department gid is a group named after the department', async (t) => {
  const spec = {
    cluster: { name: 'campus', homeRoot: '/fsx' },
    departments: [{ name: 'nlp', gid: 5001, qos: ['standard'] }],
    users: [{ name: 'ana', uid: 200001, gid: 5001 }, { name: 'ben', uid: 200002, home: '/data/ben' }],
  } as unknown as ClusterSpec
  t.same(desiredPosixUsers(spec), [
    { name: 'ana', uid: 200001, gid: 5001, groupName: 'nlp', ownGroup: false, home: '/fsx/ana' },
    { name: 'ben', uid: 200002, gid: 200002, groupName: 'ben', ownGroup: true, home: '/data/ben' },
  ])
  const plain = { ...spec, cluster: { name: 'campus' } } as unknown as ClusterSpec
  t.equal(desiredPosixUsers(plain)[0]?.home, '/home/ana', 'without homeRoot: /home')
})
