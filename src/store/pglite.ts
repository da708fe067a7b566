// PGlite (PostgreSQL compiled to WASM, in process) behind Kysely's own PostgresDialect, so tests
// exercise the same dialect, compiler and driver that a real PostgreSQL server gets through `pg`.
// PGlite is one session: this "pool" hands out its single connection to one borrower at a time,
// which keeps a transaction's statements from interleaving with anyone else's.
import { PostgresDialect, type Dialect, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';

/** The part of PGlite we use; typed structurally so production code needs no PGlite import. */
export interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; command?: string; rowCount?: number; affectedRows?: number }>;
  close(): Promise<void>;
  readonly closed?: boolean;
}

export function pgliteDialect(pg: PgliteLike, opts: { closeOnDestroy?: boolean } = {}): Dialect {
  return new PostgresDialect({ pool: new PglitePool(pg, opts.closeOnDestroy ?? true) });
}

class PglitePool implements PostgresPool {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private pg: PgliteLike,
    private closeOnDestroy: boolean,
  ) {}

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const turn = new Promise<void>((r) => (release = r));
    const before = this.tail;
    this.tail = before.then(() => turn);
    await before;
    const pg = this.pg;
    let released = false;
    const client = {
      async query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
        const r = await pg.query<R>(sql, [...parameters]);
        // Kysely reads numAffectedRows from command + rowCount, as node-postgres reports them.
        return {
          command: (r.command ?? 'SELECT').toUpperCase() as PostgresQueryResult<R>['command'],
          rowCount: r.rowCount ?? r.affectedRows ?? r.rows.length,
          rows: r.rows,
        };
      },
      release() {
        if (released) return;
        released = true;
        release();
      },
    };
    return client as PostgresPoolClient;
  }

  async end(): Promise<void> {
    await this.tail;
    if (this.closeOnDestroy && !this.pg.closed) await this.pg.close();
  }
}
