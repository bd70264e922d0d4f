/** The header stamp is what `sameManagedFile` ignores, and nothing else. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { renderCluster } from '../../src/slurm/render.js'
import { sameManagedFile, withoutStamp } from '../../src/apply/stamp.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('files rendered for another revision and a spec with one more user differ only in the stamp', async (t) => {
  const more = structuredClone(campus)
  more.users.push({ name: 'zoe', uid: 200099 })
  const a = renderCluster(campus, { revision: 1 })
  const b = renderCluster(more, { revision: 2 })
  for (const [i, f] of a.entries()) {
    const g = b[i]
    if (!g || !['slurm.conf', 'gres.conf', 'cgroup.conf'].includes(f.name)) continue
    t.not(f.content, g.content, `${f.name}: the stamps differ`)
    t.ok(sameManagedFile(f.content, g.content), `${f.name}: equal apart from the stamp`)
    t.notMatch(withoutStamp(f.content), /sha256:|revision 1\./, `${f.name}: the stamp line is gone`)
    t.match(withoutStamp(f.content), /Managed by HPC Steward/, 'the rest of the header stays')
  }
})

t.test('any other difference, a missing file, or a stamp-like line below the header still counts', async (t) => {
  const [conf] = renderCluster(campus, { revision: 1 })
  const text = conf?.content ?? ''
  t.notOk(sameManagedFile(undefined, text))
  t.notOk(sameManagedFile(text.replace('ClusterName=campus', 'ClusterName=other'), text))
  t.notOk(sameManagedFile(`${text}# Cluster campus, spec sha256:${'0'.repeat(64)}, revision 9.\n`, text), 'only the first stamp line is ignored')
})
