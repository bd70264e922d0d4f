import t from 'tap'
import { applyPlan, succeeded } from '../../src/accounting/apply.js'
import type { Operation, Plan } from '../../src/accounting/operations.js'
import type { ExecResult, Executor } from '../../src/adapters/executor.js'

const op = (n: number, argv0 = 'sacctmgr'): Operation =>
  ({ phase: 'qos', action: 'add', kind: 'qos', targets: [`q${n}`], argv: [argv0, '-i', 'add', 'qos', `q${n}`], summary: `add QoS q${n}` })

function fakeExecutor(answer: (argv: readonly string[]) => Partial<ExecResult>): Executor & { ran: string[] } {
  const ran: string[] = []
  return {
    target: 'fake',
    ran,
    async run(argv) {
      ran.push(argv.join(' '))
      return { argv, code: 0, stdout: '', stderr: '', ...answer(argv) }
    },
    async readFile() { return undefined },
    async writeFileAtomic() {},
  }
}

const plan: Plan = { cluster: 'campus', operations: [op(1), op(2), op(3)], warnings: [] }

t.test('a plan runs in order and every step is reported', async (t) => {
  const executor = fakeExecutor(() => ({}))
  const seen: number[] = []
  const result = await applyPlan(executor, plan, { onDone: (_o, i) => seen.push(i) })
  t.ok(result.ok)
  t.same(executor.ran, plan.operations.map((o) => o.argv.join(' ')))
  t.same(seen, [0, 1, 2])
  t.same(result.remaining, [])
})

t.test('apply stops at the first failure with its output and the steps still to run', async (t) => {
  const executor = fakeExecutor((argv) => (argv[4] === 'q2' ? { code: 1, stdout: ' Nothing new added.\n' } : {}))
  const result = await applyPlan(executor, plan)
  t.notOk(result.ok)
  t.equal(result.done.length, 1)
  t.equal(result.failed?.operation.targets[0], 'q2')
  t.equal(result.failed?.result?.stdout, ' Nothing new added.\n')
  t.same(result.remaining.map((o) => o.targets[0]), ['q3'])
  t.equal(executor.ran.length, 2, 'nothing after the failure ran')
})

t.test('sacctmgr exiting 0 with a refusal on stderr is a failure; useradd warnings are not', async (t) => {
  const refusal = ' These associations don\'t have access to their default qos.\n Please give them access before they the default can be set to this.\n'
  t.notOk(succeeded({ argv: ['sacctmgr', '-i', 'modify'], code: 0, stdout: '', stderr: refusal }))
  t.ok(succeeded({ argv: ['useradd', 'x'], code: 0, stdout: '', stderr: 'useradd: warning: the home directory /home/x already exists.\n' }))
  t.notOk(succeeded({ argv: ['useradd', 'x'], code: 9, stdout: '', stderr: 'useradd: user \'x\' already exists\n' }))
})

t.test('a command that cannot start is a failure of that step, not a crash', async (t) => {
  const executor: Executor = { ...fakeExecutor(() => ({})), async run() { throw new Error('spawn sacctmgr ENOENT') } }
  const result = await applyPlan(executor, plan)
  t.notOk(result.ok)
  t.match(result.failed?.error?.message, /ENOENT/)
  t.equal(result.remaining.length, 2)
})
