// Opening the store: Kysely over SQLite (better-sqlite3) by default. The dialect is the only
// SQLite-specific part; everything above speaks Kysely, so PostgreSQL can take its place.
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Dialect, type MigrationProvider, type Transaction } from 'kysely';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database> | Kysely<Database>;

export interface OpenOptions {
  /** Path of the SQLite file, or ':memory:'. */
  file: string;
}

export function sqliteDialect(file: string): Dialect {
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return new SqliteDialect({ database: db });
}

export async function openStore(opts: OpenOptions): Promise<Db> {
  return openWithDialect(sqliteDialect(opts.file));
}

export async function openWithDialect(dialect: Dialect): Promise<Db> {
  const db = new Kysely<Database>({ dialect });
  await migrate(db);
  return db;
}

export async function migrate(db: Kysely<any>): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}
