/**
 * The usage page in Debian's headless Chromium (playwright-core), on the budget fixture
 * (no sandbox): with nlp's spend far over its budget (about 20 times) the threshold and
 * budget labels of the burn-down crowd at the bottom of the chart and must still not
 * overlap, and the month field must show its whole value ("December 2026", not
 * "December 2"). Screenshots under .tap/screenshots/usage.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Browser } from 'playwright-core'
import { setup } from '../budgets/fixture.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const screenshots = join(process.cwd(), '.tap', 'screenshots', 'usage')

t.test('burn-down labels apart and the month field whole, far over budget', async (t) => {
  mkdirSync(screenshots, { recursive: true })
  const s = await setup(t)
  // nlp: thresholds at 50 and 80 % and a budget of 5.00 against 98.32 spent (1966 %).
  const current = (await s.store.getRevision('campus', 1)).spec
  const spec = structuredClone(current) as ClusterSpec
  const nlp = spec.budgets?.departments?.find((d) => d.department === 'nlp')
  if (!nlp) throw new Error('the fixture has no nlp budget')
  nlp.monthly = 5
  nlp.thresholds = [50, 80, 100]
  const revision = await s.store.appendRevision('campus', { spec, author: 'test', message: 'nlp far over budget' })
  await s.store.setAppliedRevision('campus', revision.number)
  const address = await s.app.listen({ port: 0, host: '127.0.0.1' })

  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
  t.teardown(() => browser.close())
  for (const [who, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]] as const) {
    const page = await (await browser.newContext({ viewport })).newPage()
    const problems: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    await page.goto(`${address}/ui/login`)
    await page.fill('#token', s.tokens.admin)
    await Promise.all([page.waitForURL(/\/ui\/clusters\/campus$/), page.click('button[type=submit]')])
    for (const month of ['', '?month=2026-12', '?month=2026-09']) {
      const response = await page.goto(`${address}/ui/clusters/campus/usage${month}`)
      t.equal(response?.status(), 200)
      const chart = page.locator('svg[aria-label="spend to date against the budget of nlp"]')
      t.same(await chart.locator('text.label').allTextContents(), ['50 %', '80 %', 'budget 5.00'], `${who}: the thresholds and the budget marked`)
      const boxes = await chart.locator('text.label').evaluateAll((labels) => labels.map((l) => {
        const b = l.getBoundingClientRect()
        return { text: l.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom }
      }))
      const svg = await chart.evaluate((e) => { const b = e.getBoundingClientRect(); return { left: b.left, right: b.right, top: b.top, bottom: b.bottom } })
      for (const [i, a] of boxes.entries()) {
        t.ok(a.left >= svg.left - 0.5 && a.right <= svg.right + 0.5 && a.top >= svg.top - 0.5 && a.bottom <= svg.bottom + 0.5, `${who}: "${a.text}" inside the chart (${JSON.stringify(a)} in ${JSON.stringify(svg)})`)
        for (const b of boxes.slice(i + 1)) {
          const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top
          t.ok(apart, `${who}${month}: "${a.text}" and "${b.text}" do not overlap (${JSON.stringify(a)} ${JSON.stringify(b)})`)
        }
      }
      // The field's own box against the width its value needs (the same field at max-content): the
      // browser draws "December 2026" inside the field's shadow tree, so a clipped value does not
      // show in the field's scrollWidth alone.
      type Field = { value: string; style: { width: string }; scrollWidth: number; clientWidth: number; getBoundingClientRect(): { width: number }; remove(): void }
      const field = await page.locator('input[name=month]').evaluate((e) => {
        const probe = e.cloneNode() as unknown as Field
        probe.style.width = 'max-content'
        e.parentElement!.append(probe as unknown as typeof e)
        const needed = probe.getBoundingClientRect().width
        probe.remove()
        return { value: (e as unknown as Field).value, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth, width: e.getBoundingClientRect().width, needed }
      })
      t.ok(/^\d{4}-\d{2}$/.test(field.value) && field.scrollWidth <= field.clientWidth && field.width >= field.needed - 0.5, `${who}${month}: the month field shows its whole value (${JSON.stringify(field)})`)
      await page.screenshot({ path: join(screenshots, `${who}${month ? `-${month.slice(7)}` : ''}.png`), fullPage: true })
      await page.locator('form.inline').screenshot({ path: join(screenshots, `${who}${month ? `-${month.slice(7)}` : ''}-month.png`) })
      await chart.screenshot({ path: join(screenshots, `${who}${month ? `-${month.slice(7)}` : ''}-burn-down.png`) })
    }
    t.same(problems, [], `${who}: no console error`)
  }
})
