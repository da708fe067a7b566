// Opening the store: Kysely over SQLite (better-sqlite3) by default, or PostgreSQL when
// CUMULO_DATABASE_URL names one. The dialect is the only engine-specific part; everything above
// speaks Kysely, and openWithDialect takes any Kysely Dialect (src/store/pglite.ts for PGlite).
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Dialect, type MigrationProvider, type PostgresPool, type Transaction } from 'kysely';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database> | Kysely<Database>;

export interface OpenOptions {
  /** Path of the SQLite file, or ':memory:'. */
  file: string;
  /** postgres://… or postgresql://…: use that PostgreSQL server instead of the file. Defaults to $CUMULO_DATABASE_URL. */
  url?: string;
}

export function sqliteDialect(file: string): Dialect {
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // The whole control plane's rows fit in memory many times over; keep them there.
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 268435456');
  return new SqliteDialect({ database: withStatementCache(db) });
}

/**
 * Kysely asks better-sqlite3 to prepare every query anew; the same few hundred SQL texts recur, so
 * keep their prepared statements. Safe because better-sqlite3 runs each statement synchronously
 * to completion (no two uses of one statement overlap).
 */
function withStatementCache(db: Sqlite.Database): Sqlite.Database {
  const cache = new Map<string, Sqlite.Statement>();
  const prepare = db.prepare.bind(db);
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (sql: string) => {
          let stmt = cache.get(sql);
          if (!stmt) {
            stmt = prepare(sql);
            if (cache.size >= 1000) cache.delete(cache.keys().next().value!);
            cache.set(sql, stmt);
          }
          return stmt;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export async function openStore(opts: OpenOptions): Promise<Db> {
  const url = opts.url ?? process.env.CUMULO_DATABASE_URL;
  if (url) return openWithDialect(await postgresDialect(url));
  return openWithDialect(sqliteDialect(opts.file));
}

/** A PostgreSQL server through node-postgres, which is optional: only fleets need it. */
export async function postgresDialect(url: string): Promise<Dialect> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(`CUMULO_DATABASE_URL must be a postgres:// or postgresql:// URL, not ${JSON.stringify(url.replace(/:[^:@/]*@/, ':***@'))}`);
  }
  let pg: { Pool: new (config: { connectionString: string }) => PostgresPool };
  try {
    // A variable specifier: pg is not a dependency, so the compiler must not resolve it.
    const name = 'pg';
    const mod = await import(name);
    pg = mod.default ?? mod;
  } catch {
    throw new Error('PostgreSQL support needs the pg package: run `npm install pg` in the cumulo folder');
  }
  return new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) });
}

export async function openWithDialect(dialect: Dialect): Promise<Db> {
  const db = new Kysely<Database>({ dialect });
  await migrate(db);
  return db;
}

export async function migrate(db: Db): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}
