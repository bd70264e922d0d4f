import t from 'tap'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { createSendmailNotifier, mailMessage, NotifyError, type BudgetNotification } from '../../src/budgets/notify.js'
import { evaluateBudgets, percentOf } from '../../src/budgets/evaluate.js'

const n: BudgetNotification = {
  key: 'campus/cv/2026-12/90', cluster: 'campus', department: 'cv', month: '2026-12', thresholdPercent: 90,
  spend: 10_900, budget: 12_000, currency: 'USD', recipients: ['pi-cv@example.edu', 'hpc@example.edu'],
  subject: 'cv has used 90 %\r\nBcc: attacker@example.com', text: 'line one\n.\nline three',
}

t.test('the message: recipients in the headers, no header injection, dot lines escaped', async (t) => {
  const m = mailMessage(n, 'steward@example.edu')
  t.match(m, /^From: steward@example\.edu\nTo: pi-cv@example\.edu, hpc@example\.edu\nSubject: cv has used 90 % {2}Bcc: attacker@example\.com\n/)
  t.notMatch(m, /^Bcc:/m)
  t.match(m, /\n\nline one\n\.\.\nline three\n$/)
  t.throws(() => mailMessage({ ...n, recipients: ['x@y.z>, evil'] }, 'steward@example.edu'), NotifyError)
  t.throws(() => mailMessage({ ...n, recipients: [] }, 'steward@example.edu'), /at least one recipient/)
})

t.test('sendmail -t -oi by argv with the message on stdin; a failure is NotifyError', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-sendmail-'))
  const fake = join(dir, 'sendmail')
  writeFileSync(fake, `#!/bin/sh\necho "$@" > ${dir}/argv\ncat > ${dir}/message\n`)
  chmodSync(fake, 0o755)
  await createSendmailNotifier({ executor: createLocalExecutor(), from: 'steward@example.edu', sendmail: fake }).send(n)
  t.equal(readFileSync(join(dir, 'argv'), 'utf8'), '-t -oi\n')
  t.equal(readFileSync(join(dir, 'message'), 'utf8'), mailMessage(n, 'steward@example.edu'))
  const failing = join(dir, 'failing')
  writeFileSync(failing, '#!/bin/sh\ncat > /dev/null\necho "mail queue full" >&2\nexit 75\n')
  chmodSync(failing, 0o755)
  await t.rejects(createSendmailNotifier({ executor: createLocalExecutor(), from: 'steward@example.edu', sendmail: failing }).send(n), { name: 'NotifyError', message: /exited 75: mail queue full/ })
})

t.test('evaluation: percent, thresholds crossed, forecast, wanted action', async (t) => {
  const spec = { pricing: { currency: 'USD', nodeGroups: {} }, budgets: { departments: [
    { department: 'cv', monthly: 100, thresholds: [100, 50, 90], onExceeded: 'block' as const },
    { department: 'dl', monthly: 0, thresholds: [100], onExceeded: 'restrict' as const },
  ] } }
  const month = { from: 0, to: 30 * 86_400 }
  const [cv, dl] = evaluateBudgets(spec, new Map([['cv', 9_500]]), month, 15 * 86_400)
  t.match(cv, { spendCents: 9_500, budgetCents: 10_000, percent: 95, crossed: [50, 90], forecastCents: 19_000, wanted: 'none', thresholds: [50, 90, 100] })
  t.match(dl, { spendCents: 0, percent: 0, crossed: [], wanted: 'none' })
  t.equal(percentOf(1, 0), 1_000_000, 'any spend on a zero budget is over every threshold')
  const [over] = evaluateBudgets(spec, new Map([['cv', 10_000]]), month, 15 * 86_400)
  t.match(over, { percent: 100, crossed: [50, 90, 100], wanted: 'block' })
})
