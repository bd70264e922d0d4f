import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { readFileSync } from 'node:fs'
import { desiredPools, type DesiredPool } from '../../src/login-nodes/model.js'
import { renderHaproxyConfig } from '../../src/login-nodes/haproxy-config.js'
import { parseServersState, parseStat } from '../../src/adapters/haproxy.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
spec.loginNodes = { pools: [{ name: 'main', nodes: 'login-[1-2]', balancer: { type: 'haproxy', listen: '127.0.0.1:2022', runtimeSocket: '/run/haproxy/main.sock' }, targets: { 'login-1': '10.0.0.11:22', 'login-2': '10.0.0.12' } }] }
const pool = desiredPools(spec)[0] as DesiredPool

t.test('the configuration: TCP, leastconn, stick on src, checks on the SSH port; haproxy -c accepts it', async (t) => {
  const text = renderHaproxyConfig({ spec, pool, leaving: [{ node: 'old-1', target: { id: '10.0.0.9', port: 22 } }] })
  t.match(text, /^# Managed by HPC Steward/)
  t.match(text, /mode tcp/)
  t.match(text, /stats socket \/run\/haproxy\/main.sock mode 600 level admin/)
  t.match(text, /frontend login_main_in\n {4}bind 127.0.0.1:2022\n {4}default_backend login_main/)
  t.match(text, /backend login_main\n {4}balance leastconn\n {4}stick-table type ip size 200k expire 12h\n {4}stick on src/)
  t.match(text, /server login-1 10.0.0.11:22 check port 22\n {4}server login-2 10.0.0.12:22 check port 22\n {4}server old-1 10.0.0.9:22 check port 22/)
  const dir = mkdtempSync('/tmp/steward-hacfg-')
  writeFileSync(join(dir, 'h.cfg'), text)
  await promisify(execFile)('haproxy', ['-c', '-q', '-f', join(dir, 'h.cfg')])
})

t.test('runtime API answers are parsed by header names', async (t) => {
  const state = parseServersState([
    '1',
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port',
    '3 login_main 1 login-1 10.0.0.11 2 8 1 1 3 6 3 3 6 0 0 0 - 22',
    '', '',
  ].join('\n'))
  t.match(state, [{ srv_name: 'login-1', srv_admin_state: '8', srv_op_state: '2', srv_port: '22' }])
  t.throws(() => parseServersState('Unknown command'), { name: 'BalancerError' })
  const stat = parseStat('# pxname,svname,qcur,qmax,scur\nlogin_main,login-1,0,0,3\n')
  t.match(stat, [{ pxname: 'login_main', svname: 'login-1', scur: '3' }])
  t.throws(() => parseStat('nonsense'), { name: 'BalancerError' })
})
