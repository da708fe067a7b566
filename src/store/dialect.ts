// Which SQL engine a Kysely instance talks to, for the few places (migrations) that must differ.
import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * Any PostgreSQL dialect: Kysely's own (over pg or PGlite) or a third-party one, whose adapter
 * usually extends PostgresAdapter. instanceof fails when a dialect package brings its own copy of
 * Kysely, so the prototype chain's class names are checked too.
 */
export function isPostgres(db: Pick<Kysely<unknown>, 'getExecutor'>): boolean {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return true;
  for (let p = Object.getPrototypeOf(adapter); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (/postgres/i.test(p.constructor?.name ?? '')) return true;
  }
  return false;
}
