// The store's schema and migrations on a real PostgreSQL (PGlite: PostgreSQL compiled to WASM, in
// process) through Kysely's own PostgresDialect, and the same checks on SQLite so both stay alike.
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openStore, openWithDialect, sqliteDialect, type Db } from './db.js';
import { isPostgres } from './dialect.js';
import { migrations } from './migrations/index.js';
import { pgliteDialect } from './pglite.js';

const engines = [
  { name: 'postgresql (pglite)', open: () => openWithDialect(pgliteDialect(new PGlite())), pg: true },
  { name: 'sqlite', open: () => openWithDialect(sqliteDialect(':memory:')), pg: false },
];

/** A unique-violation error, in either engine's words. */
function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === '23505' || err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the statement to fail');
}

describe.each(engines)('store on $name', ({ open, pg }) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('detects its engine', () => {
    expect(isPostgres(db)).toBe(pg);
  });

  it('applies every migration, and a second migrate() is a no-op', async () => {
    const done = await db
      .selectFrom('kysely_migration' as any)
      .select('name')
      .orderBy('name')
      .execute();
    expect(done.map((r: any) => r.name)).toEqual(Object.keys(migrations).sort());
    await migrate(db);
    const again = await db
      .selectFrom('kysely_migration' as any)
      .select('name')
      .execute();
    expect(again).toHaveLength(done.length);
  });

  it('inserts and reads back a row of every table', async () => {
    // Built from the live schema, so tables and columns added by later migrations are covered too.
    const tables = (await db.introspection.getTables()).filter((t) => !t.name.startsWith('kysely_'));
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['accounts', 'jobs', 'instances', 'volume_attachments']));
    for (const t of tables) {
      const row: Record<string, unknown> = {};
      for (const c of t.columns) {
        if (c.isAutoIncrementing) continue;
        const type = c.dataType.toLowerCase();
        if (/int/.test(type)) row[c.name] = 7;
        else if (/real|float|double|numeric/.test(type)) row[c.name] = 1.5;
        else row[c.name] = `${t.name}.${c.name}`;
      }
      const dyn = db as unknown as Kysely<any>;
      await dyn.insertInto(t.name).values(row).execute();
      const back = await dyn.selectFrom(t.name).selectAll().execute();
      expect(back, t.name).toHaveLength(1);
      expect(back[0], t.name).toMatchObject(row);
      // Nullable columns take NULL and give it back as null.
      const nullable = t.columns.filter((c) => c.isNullable && !c.isAutoIncrementing).map((c) => c.name);
      if (nullable.length) {
        await dyn
          .updateTable(t.name)
          .set(Object.fromEntries(nullable.map((n) => [n, null])))
          .execute();
        const cleared = await dyn.selectFrom(t.name).select(nullable).executeTakeFirstOrThrow();
        expect(
          Object.values(cleared).every((v) => v === null),
          t.name,
        ).toBe(true);
      }
      await dyn.deleteFrom(t.name).execute();
    }
  });

  it('gives jobs increasing ids that are never reused', async () => {
    const job = (kind: string) => ({
      kind,
      resource_id: 'i-0123456789abcdef0',
      account_id: '000000000000',
      region: 'us-east-1',
      payload: '{}',
      run_at: '2024-01-01T00:00:00.000Z',
      attempts: 0,
      locked_by: null,
      locked_until: null,
      last_error: null,
      created_at: '2024-01-01T00:00:00.000Z',
    });
    const a = await db.insertInto('jobs').values(job('a')).returning('id').executeTakeFirstOrThrow();
    const b = await db.insertInto('jobs').values(job('b')).returning('id').executeTakeFirstOrThrow();
    expect(typeof a.id).toBe('number');
    expect(b.id).toBeGreaterThan(a.id);
    await db.deleteFrom('jobs').where('id', '=', b.id).execute();
    const c = await db.insertInto('jobs').values(job('c')).returning('id').executeTakeFirstOrThrow();
    expect(c.id).toBeGreaterThan(b.id);
    // The runner's attempts default and update path.
    const n = await db.updateTable('jobs').set({ attempts: 3 }).where('id', '=', a.id).executeTakeFirst();
    expect(Number(n.numUpdatedRows)).toBe(1);
    expect((await db.selectFrom('jobs').select('attempts').where('id', '=', a.id).executeTakeFirstOrThrow()).attempts).toBe(3);
    await db.deleteFrom('jobs').execute();
  });

  it('refuses a second security group of the same name in one VPC', async () => {
    const sg = (id: string, vpc: string, name: string) => ({
      id,
      account_id: '000000000000',
      region: 'us-east-1',
      vpc_id: vpc,
      group_name: name,
      description: 'd',
      created_at: '2024-01-01T00:00:00.000Z',
    });
    await db
      .insertInto('security_groups')
      .values(sg('sg-1', 'vpc-1', 'web'))
      .execute();
    const e = await rejection(
      db
        .insertInto('security_groups')
        .values(sg('sg-2', 'vpc-1', 'web'))
        .execute(),
    );
    expect(isUniqueViolation(e), String(e)).toBe(true);
    // The same name in another VPC is fine.
    await db
      .insertInto('security_groups')
      .values(sg('sg-3', 'vpc-2', 'web'))
      .execute();
    expect(await db.selectFrom('security_groups').select('id').orderBy('id').execute()).toEqual([{ id: 'sg-1' }, { id: 'sg-3' }]);
    await db.deleteFrom('security_groups').execute();
  });

  it('refuses two network interfaces with one private IP in a subnet', async () => {
    const eni = (id: string, subnet: string, ip: string, mac: string) => ({
      id,
      account_id: '000000000000',
      region: 'us-east-1',
      subnet_id: subnet,
      vpc_id: 'vpc-1',
      availability_zone: 'us-east-1a',
      private_ip: ip,
      mac_address: mac,
      description: '',
      interface_type: 'interface',
      status: 'available',
      instance_id: null,
      device_index: null,
      attachment_id: null,
      delete_on_termination: 1,
      source_dest_check: 1,
      security_groups: '[]',
      secondary_private_ips: '[]',
      public_ip: null,
      created_at: '2024-01-01T00:00:00.000Z',
    });
    await db
      .insertInto('network_interfaces')
      .values(eni('eni-1', 'subnet-1', '10.0.0.4', '02:00:00:00:00:01'))
      .execute();
    const e = await rejection(
      db
        .insertInto('network_interfaces')
        .values(eni('eni-2', 'subnet-1', '10.0.0.4', '02:00:00:00:00:02'))
        .execute(),
    );
    expect(isUniqueViolation(e), String(e)).toBe(true);
    // The MAC address is unique too.
    const m = await rejection(
      db
        .insertInto('network_interfaces')
        .values(eni('eni-3', 'subnet-1', '10.0.0.5', '02:00:00:00:00:01'))
        .execute(),
    );
    expect(isUniqueViolation(m), String(m)).toBe(true);
    await db
      .insertInto('network_interfaces')
      .values(eni('eni-4', 'subnet-2', '10.0.0.4', '02:00:00:00:00:04'))
      .execute();
    expect(await db.selectFrom('network_interfaces').select('id').orderBy('id').execute()).toEqual([{ id: 'eni-1' }, { id: 'eni-4' }]);
    await db.deleteFrom('network_interfaces').execute();
  });

  it('rolls back a failed transaction and keeps concurrent transactions apart', async () => {
    const acct = (id: string) => ({ id, name: `n${id}`, created_at: '2024-01-01T00:00:00.000Z' });
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('accounts').values(acct('111111111111')).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.selectFrom('accounts').selectAll().execute()).toEqual([]);
    // Each transaction counts, then inserts: interleaved on one session they would see each other.
    const counts = await Promise.all(
      ['222222222222', '333333333333', '444444444444'].map((id) =>
        db.transaction().execute(async (trx) => {
          const before = await trx.selectFrom('accounts').select('id').execute();
          await new Promise((r) => setTimeout(r, 5));
          await trx.insertInto('accounts').values(acct(id)).execute();
          return before.length;
        }),
      ),
    );
    expect([...counts].sort()).toEqual([0, 1, 2]);
    expect(await db.selectFrom('accounts').select('id').execute()).toHaveLength(3);
    await db.deleteFrom('accounts').execute();
  });
});

describe('openStore with CUMULO_DATABASE_URL', () => {
  const hasPg = (() => {
    try {
      createRequire(import.meta.url).resolve('pg');
      return true;
    } catch {
      return false;
    }
  })();

  it('refuses a URL that is not PostgreSQL', async () => {
    await expect(openStore({ file: ':memory:', url: 'mysql://u:secret@127.0.0.1/db' })).rejects.toThrow(/postgres:\/\/.*u:\*\*\*@/);
  });

  it.skipIf(hasPg)('says that PostgreSQL needs the pg package when it is missing', async () => {
    await expect(openStore({ file: ':memory:', url: 'postgres://cumulo@127.0.0.1:1/cumulo' })).rejects.toThrow('PostgreSQL support needs the pg package');
  });
});
