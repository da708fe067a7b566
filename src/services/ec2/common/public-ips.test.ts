import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, type Config } from '../../../config.js';
import { openStore, type Db } from '../../../store/db.js';
import { allocatePublicIp, claimPublicIp, poolExhausted, poolRange } from './public-ips.js';

describe('the pool (pure)', () => {
  test('never its network, first (the host) or broadcast address', () => {
    expect(poolRange('198.18.0.0/16')).toMatchObject({ host: '198.18.0.1', first: 0xc6120002n, last: 0xc612fffen });
    expect(poolRange('203.0.113.8/29')).toMatchObject({ host: '203.0.113.9', first: 0xcb00710an, last: 0xcb00710en });
    // A /30 has one address to give; a /31 and a /32 none.
    const r30 = poolRange('198.18.0.0/30');
    expect(r30.last - r30.first + 1n).toBe(1n);
    for (const small of ['198.18.0.0/31', '198.18.0.7/32']) {
      const r = poolRange(small);
      expect(r.last < r.first).toBe(true);
    }
  });

  test('host bits in the configured block are ignored; a non-IPv4 pool is refused', () => {
    expect(poolRange('198.18.5.9/16').host).toBe('198.18.0.1');
    expect(() => poolRange('2001:db8::/64')).toThrow(/not an IPv4/);
    expect(() => poolRange('nonsense')).toThrow(/not an IPv4/);
  });

  test("EC2's error when it runs out: capacity (a server error), for elastic and ephemeral addresses alike", () => {
    expect([poolExhausted().code, poolExhausted().status]).toEqual(['InsufficientAddressCapacity', 500]);
  });
});

describe('the ledger', () => {
  let db: Db;
  const config = (pool: string): Config => ({ ...loadConfig({}), publicPool: pool });
  beforeAll(async () => {
    db = await openStore({ file: ':memory:' });
  });
  afterAll(async () => {
    await db.destroy();
  });

  test('addresses are unique across accounts and regions, handed out round the pool, until it runs out', async () => {
    const c = config('198.18.0.0/29'); // .2 … .6
    const a = await allocatePublicIp(db, c, { accountId: '111111111111', region: 'us-east-1', kind: 'elastic', allocationId: 'eipalloc-00000000000000001' });
    const b = await allocatePublicIp(db, c, { accountId: '222222222222', region: 'eu-west-1', kind: 'ephemeral', networkInterfaceId: 'eni-1', privateIp: '10.0.0.4' });
    expect([a, b]).toEqual(['198.18.0.2', '198.18.0.3']);
    // A specific address: free and in the pool, or nothing.
    expect(await claimPublicIp(db, c, '198.18.0.6', { accountId: '111111111111', region: 'us-east-1', kind: 'elastic', allocationId: 'eipalloc-00000000000000002' })).toBe(
      '198.18.0.6',
    );
    for (const ip of ['198.18.0.6', '198.18.0.1', '198.18.0.7', '198.18.0.0', '10.0.0.1']) {
      expect(
        await claimPublicIp(db, c, ip, { accountId: '111111111111', region: 'us-east-1', kind: 'elastic', allocationId: `eipalloc-0000000000000000${ip.length}` }),
      ).toBeUndefined();
    }
    expect(await allocatePublicIp(db, c, { accountId: '333333333333', region: 'us-east-1', kind: 'ephemeral' })).toBe('198.18.0.4');
    expect(await allocatePublicIp(db, c, { accountId: '333333333333', region: 'us-east-1', kind: 'ephemeral' })).toBe('198.18.0.5');
    await expect(allocatePublicIp(db, c, { accountId: '333333333333', region: 'us-east-1', kind: 'elastic' })).rejects.toMatchObject({ code: 'InsufficientAddressCapacity' });
    await expect(allocatePublicIp(db, c, { accountId: '333333333333', region: 'us-east-1', kind: 'ephemeral' })).rejects.toMatchObject({ code: 'InsufficientAddressCapacity' });

    const rows = await db.selectFrom('public_ips').selectAll().orderBy('public_ip').execute();
    expect(rows.map((r) => [r.public_ip, r.kind, r.account_id, r.region, r.network_border_group])).toEqual([
      ['198.18.0.2', 'elastic', '111111111111', 'us-east-1', 'us-east-1'],
      ['198.18.0.3', 'ephemeral', '222222222222', 'eu-west-1', 'eu-west-1'],
      ['198.18.0.4', 'ephemeral', '333333333333', 'us-east-1', 'us-east-1'],
      ['198.18.0.5', 'ephemeral', '333333333333', 'us-east-1', 'us-east-1'],
      ['198.18.0.6', 'elastic', '111111111111', 'us-east-1', 'us-east-1'],
    ]);
    expect(rows[1]).toMatchObject({ allocation_id: null, network_interface_id: 'eni-1', private_ip: '10.0.0.4' });

    // A released address is free again: the only one, so it is the next one handed out.
    await db.deleteFrom('public_ips').where('public_ip', '=', '198.18.0.3').execute();
    expect(await allocatePublicIp(db, c, { accountId: '111111111111', region: 'us-east-1', kind: 'ephemeral' })).toBe('198.18.0.3');
  });

  test('allocation goes round the pool: an address just released is not the next one while others are free', async () => {
    const c = config('198.18.1.0/29'); // .2 … .6
    const take = () => allocatePublicIp(db, c, { accountId: '111111111111', region: 'us-east-1', kind: 'ephemeral' });
    expect(await take()).toBe('198.18.1.2');
    await db.deleteFrom('public_ips').where('public_ip', '=', '198.18.1.2').execute(); // a stop
    expect(await take()).toBe('198.18.1.3'); // the start: a new address
    expect([await take(), await take(), await take()]).toEqual(['198.18.1.4', '198.18.1.5', '198.18.1.6']);
    expect(await take()).toBe('198.18.1.2'); // round again: the lowest free
  });
});
