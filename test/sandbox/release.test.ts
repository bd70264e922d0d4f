/**
 * Which release a sandbox runs and where (src/sandbox/release.ts), how commands reach a
 * root (src/adapters/root-executor.ts), and the per-release sandbox settings. Pure.
 */
import t from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { mountPropagation, rootArgv, createRootExecutor } from '../../src/adapters/root-executor.js'
import {
  DEFAULT_PORTS, HOST_RELEASE, RELEASE_ENV, SANDBOX_RELEASES, SandboxLayoutError, parseRelease, releaseSetup, resolveRelease, sandboxLocation,
} from '../../src/sandbox/index.js'
import { mariadbArgs, mariadbClientArgs, sandboxPaths, sandboxSite } from '../../src/sandbox/layout.js'
import { renderCluster } from '../../src/slurm/render.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const spec = parse(readFileSync(new URL('../slurm/render/campus/spec.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('releases: --slurm, STEWARD_SANDBOX_SLURM, the host\'s by default', async (t) => {
  t.same([...SANDBOX_RELEASES], ['22.05', '24.11'])
  t.equal(HOST_RELEASE, '22.05')
  t.equal(resolveRelease({}), '22.05')
  t.equal(resolveRelease({ [RELEASE_ENV]: '24.11' }), '24.11')
  t.equal(resolveRelease({ [RELEASE_ENV]: '24.11' }, '22.05'), '22.05', 'the option wins')
  t.equal(parseRelease('24.11'), '24.11')
  for (const bad of ['24.05', '24.11.5', '', 'latest', '24.11;rm']) t.throws(() => parseRelease(bad), SandboxLayoutError, bad)
  t.throws(() => resolveRelease({ [RELEASE_ENV]: '23.02' }), SandboxLayoutError)
})

t.test('each release has its own state directory and ports, so both run side by side', async (t) => {
  const host = sandboxLocation({ release: '22.05' }, {})
  const next = sandboxLocation({ release: '24.11' }, {})
  t.equal(host.stateDir, '/var/lib/steward-sandbox')
  t.equal(host.rootfs, undefined)
  t.equal(host.paths.root, '/var/lib/steward-sandbox')
  t.same(host.ports, DEFAULT_PORTS)
  t.equal(next.stateDir, '/var/lib/steward-sandbox-24.11')
  t.equal(next.rootfs, '/var/lib/steward-sandbox-24.11/rootfs', 'the root is kept under the state directory')
  t.equal(next.paths.root, '/var/lib/steward-sandbox-24.11/sandbox')
  t.equal(next.paths.slurmConf, '/var/lib/steward-sandbox-24.11/sandbox/etc/slurm.conf')
  const used = (ports: typeof DEFAULT_PORTS) => [ports.slurmctld, ports.slurmd, ports.slurmdbd, ports.mariadb]
  t.same(used(next.ports).filter((p) => used(host.ports).includes(p)), [], 'no port shared')
  t.ok(next.ports.firstNode - host.ports.firstNode >= 1000, 'node port ranges apart')
  t.equal(sandboxLocation({ release: '24.11' }, { STEWARD_SANDBOX_DIR: '/srv/sb' }).stateDir, '/srv/sb-24.11', 'follows STEWARD_SANDBOX_DIR')
  t.equal(sandboxLocation({ release: '24.11', stateDir: '/srv/x' }, {}).rootfs, '/srv/x/rootfs', 'an explicit state dir is used as is')
  t.equal(sandboxLocation({}, { [RELEASE_ENV]: '24.11' }).release, '24.11')
  t.throws(() => sandboxLocation({ release: '24.11', stateDir: '/srv/with space' }, {}), SandboxLayoutError)
  t.equal(releaseSetup('24.11').suite, 'trixie')
})

t.test('commands reach a root through unshare --root with their own /proc, never a shell', async (t) => {
  t.same(rootArgv('/r', ['sinfo', '-N'], 'private'), ['unshare', '-m', '--propagation=private', '--root=/r', '--mount-proc', '--', 'sinfo', '-N'])
  t.throws(() => rootArgv('/', ['true']))
  t.throws(() => rootArgv('relative', ['true']))
  t.equal(mountPropagation('22 27 0:21 / /proc rw - proc proc rw\n27 1 254:0 / / rw - ext4 /dev/vda rw\n'), 'private', 'a host: / is a mount point')
  t.equal(mountPropagation('22 27 0:21 / /proc rw - proc proc rw\n'), 'unchanged', 'inside a chroot / is not a mount point: unshare -m needs --propagation unchanged')
})

t.test('a root executor reads and writes under the root, and runs host programs on the host', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-root-'))
  const ex = createRootExecutor(dir, { hostPrograms: [process.execPath] })
  t.equal(ex.target, `root:${dir}`)
  await mkdir(join(dir, 'etc'))
  await ex.writeFileAtomic('/etc/x.conf', 'a=1\n')
  t.equal(readFileSync(join(dir, 'etc', 'x.conf'), 'utf8'), 'a=1\n', 'written inside the root')
  t.equal(await ex.readFile('/etc/x.conf'), 'a=1\n')
  t.equal(await ex.readFile('/etc/missing'), undefined)
  const host = await ex.run([process.execPath, '-e', 'process.stdout.write(process.execPath)'])
  t.equal(host.stdout, process.execPath, 'the steward CLI (node) runs on the host')
})

t.test('the sandbox\'s settings per release: no task/none and cgroups disabled from 24.11', async (t) => {
  const p = sandboxPaths('/var/lib/steward-sandbox-24.11/sandbox')
  const old = sandboxSite(p, spec, 'box', DEFAULT_PORTS, '22.05.8')
  const next = sandboxSite(p, spec, 'box', releaseSetup('24.11').ports, '24.11.5')
  t.equal(old.taskPlugin, 'task/none')
  t.equal(old.cgroupPlugin, undefined)
  t.equal(next.taskPlugin, '')
  t.equal(next.cgroupPlugin, 'disabled')
  const files = Object.fromEntries(renderCluster({ ...spec, cluster: { ...spec.cluster, slurmVersion: '24.11' } }, { site: next }).map((f) => [f.name, f.content]))
  t.notMatch(files['slurm.conf'], /^TaskPlugin=/m, 'no TaskPlugin line: 24.11 has no task/none')
  t.match(files['slurm.conf'], /^SlurmctldPort=26817$/m)
  t.match(files['cgroup.conf'], /^CgroupPlugin=disabled$/m)
  const production = Object.fromEntries(renderCluster({ ...spec, cluster: { ...spec.cluster, slurmVersion: '24.11' } }).map((f) => [f.name, f.content]))
  t.match(production['slurm.conf'], /^TaskPlugin=task\/cgroup,task\/affinity$/m, 'production keeps its task plugins')
  t.match(production['cgroup.conf'], /^CgroupPlugin=autodetect$/m)
})

t.test('the sandbox\'s MariaDB runs without TLS, and its client asks for none', async (t) => {
  const p = sandboxPaths('/var/lib/steward-sandbox')
  t.ok(mariadbArgs(p, DEFAULT_PORTS).includes('--skip-ssl'), 'MariaDB 11.8 would turn TLS on and break slurmdbd 24.11.5')
  t.same(mariadbClientArgs(p), ['--no-defaults', '--socket=/var/lib/steward-sandbox/run/mysqld.sock', '--user=root', '--skip-ssl'])
})
