/**
 * The schema as numbered migrations, one list for both dialects. Portable SQL is written
 * once with `{{type}}` slots filled per dialect; what cannot be portable (triggers, the
 * SQLite lock table) is given per dialect. A migration is never edited once released:
 * changes are new migrations, recorded in `schema_migrations` when applied.
 */
export type Dialect = 'sqlite' | 'postgres'

export interface Migration {
  id: number
  name: string
  sql: string | Record<Dialect, string>
}

/** Column types per dialect. */
const TYPES: Record<Dialect, Record<string, string>> = {
  sqlite: { serial: 'INTEGER PRIMARY KEY AUTOINCREMENT', key: 'TEXT', json: 'TEXT', time: 'TEXT', bigint: 'INTEGER' },
  // COLLATE "C": names sort by bytes as in SQLite, whatever the database's locale.
  postgres: { serial: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', key: 'TEXT COLLATE "C"', json: 'JSONB', time: 'TIMESTAMPTZ', bigint: 'BIGINT' },
}

/** The table of applied migrations, created before any migration runs. */
export const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {{time}} NOT NULL)'

const core = `
CREATE TABLE clusters (
  name {{key}} PRIMARY KEY,
  description TEXT NOT NULL,
  created_at {{time}} NOT NULL,
  latest_revision INTEGER NOT NULL DEFAULT 0,
  applied_revision INTEGER
);
CREATE TABLE revisions (
  cluster {{key}} NOT NULL REFERENCES clusters (name),
  number INTEGER NOT NULL,
  spec {{json}} NOT NULL,
  spec_hash TEXT NOT NULL,
  author TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at {{time}} NOT NULL,
  PRIMARY KEY (cluster, number)
);
CREATE TABLE applies (
  seq {{serial}},
  id TEXT NOT NULL UNIQUE,
  cluster {{key}} NOT NULL,
  revision INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'rolled-back', 'interrupted')),
  started_by TEXT NOT NULL,
  created_at {{time}} NOT NULL,
  finished_at {{time}},
  error TEXT,
  FOREIGN KEY (cluster, revision) REFERENCES revisions (cluster, number)
);
CREATE INDEX applies_by_cluster ON applies (cluster, seq);
CREATE INDEX applies_unfinished ON applies (seq) WHERE status IN ('queued', 'running');
CREATE TABLE apply_steps (
  apply_id TEXT NOT NULL REFERENCES applies (id),
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'skipped')),
  detail TEXT NOT NULL,
  output TEXT NOT NULL,
  started_at {{time}} NOT NULL,
  finished_at {{time}},
  PRIMARY KEY (apply_id, seq)
);
CREATE TABLE audit_log (
  id {{serial}},
  at {{time}} NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  cluster TEXT,
  change {{json}} NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX audit_log_by_cluster ON audit_log (cluster, id);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE TABLE tokens (
  seq {{serial}},
  id TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'department-admin', 'researcher')),
  departments {{json}} NOT NULL,
  user_name TEXT,
  description TEXT NOT NULL,
  created_at {{time}} NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at {{time}}
);
CREATE TABLE uid_allocations (
  uid {{bigint}} PRIMARY KEY CHECK (uid >= 0),
  user_name TEXT NOT NULL UNIQUE,
  allocated_at {{time}} NOT NULL
);
`

/** Tables whose rows are never changed: the audit log, revisions and uid allocations. */
const FROZEN = ['audit_log', 'revisions', 'uid_allocations']

const sqliteTriggers = FROZEN.map((table) => ['UPDATE', 'DELETE'].map((op) => `
CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table}
BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;`).join('')).join('\n')

const postgresTriggers = `
CREATE FUNCTION steward_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
${FROZEN.map((table) => `
CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION steward_refuse_change();
CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION steward_refuse_change();`).join('\n')}
`

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  { id: 1, name: 'core tables', sql: core },
  { id: 2, name: 'append-only triggers', sql: { sqlite: sqliteTriggers, postgres: postgresTriggers } },
  {
    id: 3,
    name: 'apply lock rows',
    sql: {
      // A row per held lock, with a lease: SQLite has no session locks that outlive a statement.
      sqlite: `CREATE TABLE apply_locks (
  cluster TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  token TEXT NOT NULL,
  pid INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);`,
      // PostgreSQL holds apply locks as session advisory locks: nothing to store.
      postgres: 'SELECT 1;',
    },
  },
  {
    id: 4,
    name: 'tokens bound to a cluster',
    // Department-admin and researcher tokens are bound to one cluster; admin tokens stay
    // global (NULL). Tokens made before this are bound to the store's only cluster when
    // it has exactly one (where they were used); with several they stay unbound, and an
    // unbound non-admin token sees no cluster until an admin issues a bound one.
    sql: `ALTER TABLE tokens ADD COLUMN cluster {{key}} REFERENCES clusters (name);
UPDATE tokens SET cluster = (SELECT name FROM clusters)
  WHERE role <> 'admin' AND (SELECT COUNT(*) FROM clusters) = 1;`,
  },
  {
    id: 5,
    name: 'apply lock rows with a boot id, on both databases',
    sql: {
      // The boot id tells a crashed process from a live one that got the same pid.
      sqlite: "ALTER TABLE apply_locks ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';",
      // A lease row instead of a session advisory lock, which an idle timeout, a failover or
      // a transaction-pooling proxy frees without the holder knowing.
      postgres: `CREATE TABLE apply_locks (
  cluster {{key}} PRIMARY KEY,
  holder TEXT NOT NULL,
  token TEXT NOT NULL,
  pid INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  boot_id TEXT NOT NULL,
  acquired_at {{time}} NOT NULL,
  expires_at {{time}} NOT NULL
);`,
    },
  },
  {
    id: 6,
    name: 'budgets: notifications sent, events, actions in force',
    // Thresholds are kept as text (the number as written) so equality is exact on both databases.
    sql: `CREATE TABLE budget_notifications (
  key TEXT PRIMARY KEY,
  cluster {{key}} NOT NULL REFERENCES clusters (name),
  department TEXT,
  month TEXT NOT NULL,
  threshold TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sending', 'sent')),
  recipients {{json}} NOT NULL,
  created_at {{time}} NOT NULL,
  sent_at {{time}}
);
CREATE INDEX budget_notifications_by_month ON budget_notifications (cluster, month);
CREATE TABLE budget_events (
  event_id TEXT PRIMARY KEY,
  cluster {{key}} NOT NULL REFERENCES clusters (name),
  budget_name TEXT NOT NULL,
  department TEXT,
  month TEXT NOT NULL,
  threshold TEXT NOT NULL,
  notification_type TEXT NOT NULL CHECK (notification_type IN ('ACTUAL', 'FORECASTED')),
  action TEXT NOT NULL CHECK (action IN ('none', 'notify', 'restrict', 'block')),
  payload {{json}} NOT NULL,
  recorded_at {{time}} NOT NULL,
  UNIQUE (cluster, budget_name, month, threshold, notification_type)
);
CREATE TABLE budget_actions (
  cluster {{key}} NOT NULL REFERENCES clusters (name),
  department TEXT NOT NULL,
  month TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('restrict', 'block')),
  reason TEXT NOT NULL,
  started_at {{time}} NOT NULL,
  ended_at {{time}},
  ended_reason TEXT,
  ended_by TEXT,
  PRIMARY KEY (cluster, department, month)
);`,
  },
]

/** The SQL of a migration (or of any templated statement) for a dialect. */
export function migrationSql(sql: Migration['sql'], dialect: Dialect): string {
  const text = typeof sql === 'string' ? sql : sql[dialect]
  return text.replace(/\{\{(\w+)\}\}/g, (_all, name: string) => {
    const type = TYPES[dialect][name]
    if (type === undefined) throw new Error(`migration uses an unknown type slot {{${name}}}`)
    return type
  })
}
