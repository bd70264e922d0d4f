/**
 * A PostgreSQL database per test file, on the server at TEST_DATABASE_URL or the one
 * ops/postgres/start.sh starts (real PostgreSQL from Debian's packages). Fails, never
 * skips, when there is no server: CI installs one.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import pg from 'pg'

const startScript = new URL('../../ops/postgres/start.sh', import.meta.url).pathname

async function serverUrl(): Promise<string> {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL
  const { stdout } = await promisify(execFile)('bash', [startScript], { timeout: 10 * 60 * 1000 })
  const url = stdout.trim().split('\n').pop()
  if (!url?.startsWith('postgres://')) throw new Error(`ops/postgres/start.sh printed no URL: ${stdout}`)
  return url
}

/**
 * Drops a test database. FORCE cannot end a backend of another role, such as an
 * autovacuum worker that just started on the new database: wait for it and try again.
 */
export async function dropDatabase(query: (sql: string) => Promise<unknown>, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      return
    } catch (err) {
      if ((err as { code?: string }).code !== '42501' || attempt >= 20) throw err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

/** Creates an empty database with a random name; `dispose` drops it. */
export async function freshPostgresDatabase(): Promise<{ url: string; dispose(): Promise<void> }> {
  const base = await serverUrl()
  const name = `steward_t_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(base)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async dispose() {
      const client = new pg.Client({ connectionString: base })
      await client.connect()
      try {
        await dropDatabase((sql) => client.query(sql), name)
      } finally {
        await client.end()
      }
    },
  }
}
