import t from 'tap'
import { reloadAction } from '../../src/slurm/reload.js'

const conf = (nodes: string, extra = '') => `# header\nClusterName=c\nSelectType=select/cons_tres\n${extra}\nNodeName=${nodes} CPUs=4\nPartitionName=p Nodes=${nodes} MaxTime=1:00:00\n`

t.test('a partition-only change is a reconfigure', async (t) => {
  const before = conf('n[1-4]')
  const after = before.replace('MaxTime=1:00:00', 'MaxTime=2:00:00')
  t.same(reloadAction(before, after, '22.05'), { action: 'reconfigure', reasons: [] })
})

t.test('adding nodes restarts slurmctld before 24.11 and reconfigures from 24.11', async (t) => {
  const before = conf('n[1-4]')
  const after = conf('n[1-6]')
  t.equal(reloadAction(before, after, '22.05').action, 'restart')
  t.match(reloadAction(before, after, '22.05').reasons[0], /2 added, 0 removed/)
  t.equal(reloadAction(before, after, '24.11').action, 'reconfigure')
  t.equal(reloadAction(before, after, '25.05').action, 'reconfigure')
})

t.test('a changed daemon-level setting restarts on any version', async (t) => {
  t.same(reloadAction(conf('n1'), conf('n1', 'GresTypes=gpu'), '24.11'), { action: 'restart', reasons: ['GresTypes changed'] })
})

t.test('a first install restarts', async (t) => {
  t.equal(reloadAction(undefined, conf('n1'), '24.11').action, 'restart')
})
