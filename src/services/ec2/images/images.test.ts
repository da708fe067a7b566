import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../lib/secrets.js';
import { rootPrincipal } from '../../iam/principal.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config.js';
import { openStore, type Db } from '../../../store/db.js';
import type { Ctx } from '../../context.js';
import { builtinImageId, builtinImageRow, builtinImages, builtinSnapshotId, builtinSourceOf, DEBIAN_VERSION, seedBuiltinImages, versionTime } from './builtin.js';
import { getLaunchableImage, imageToEc2 } from './store.js';

const config = loadConfig({ CUMULO_HOME: '/nonexistent', CUMULO_REGIONS: 'us-east-1,eu-west-1' });

let db: Db;
beforeEach(async () => {
  db = await openStore({ file: ':memory:' });
});
afterEach(async () => {
  await db.destroy();
});

function ctxOf(accountId: string, region = 'us-east-1'): Ctx {
  return {
    accountId,
    region,
    requestId: 'test',
    principal: rootPrincipal(accountId, ''),
    source: { ip: '127.0.0.1', secure: true },
    secrets: new SecretBox(randomBytes(32)),
    operation: 'RunInstances',
    db,
    config,
    now: new Date(),
    enqueue: async () => {},
    afterCommit: () => {},
    beforeCommit: () => {},
  };
}

describe('built-in image ids', () => {
  it('are EC2-shaped, deterministic and differ per region and name', () => {
    const a = builtinImageId('us-east-1', 'debian-12-amd64-20240717-1811');
    expect(a).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(builtinImageId('us-east-1', 'debian-12-amd64-20240717-1811')).toBe(a);
    expect(builtinImageId('eu-west-1', 'debian-12-amd64-20240717-1811')).not.toBe(a);
    expect(builtinImageId('us-east-1', 'debian-12-amd64-20240718-1811')).not.toBe(a);
    expect(builtinSnapshotId('us-east-1', 'x')).toMatch(/^snap-[0-9a-f]{17}$/);
  });

  it('version dates become creation times', () => {
    expect(versionTime('20240717-1811')).toBe('2024-07-17T18:11:00.000Z');
    expect(versionTime('20240717')).toBe('2024-07-17T00:00:00.000Z');
    expect(() => versionTime('2024-07-17')).toThrow();
  });

  it('names follow Debian and cumulo conventions', () => {
    expect(builtinImages.map((i) => i.name)).toEqual([expect.stringMatching(/^cumulo-minimal-x86_64-\d{8}$/), expect.stringMatching(/^debian-12-amd64-\d{8}-\d{4}$/)]);
    expect(builtinImages[1]!.description).toBe(`Debian 12 (${DEBIAN_VERSION})`);
  });
});

describe('seedBuiltinImages', () => {
  it('writes both images in every region, idempotently', async () => {
    await seedBuiltinImages(db, config);
    await seedBuiltinImages(db, config);
    const rows = await db.selectFrom('images').selectAll().orderBy('region').execute();
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.region))).toEqual(new Set(['us-east-1', 'eu-west-1']));
    for (const r of rows) {
      expect(r.id).toBe(builtinImageId(r.region, r.name));
      expect(builtinSourceOf(r.source)).toBeDefined();
    }
    const sshUsers = rows.map((r) => builtinSourceOf(r.source)!.sshUser).sort();
    expect(sshUsers).toEqual(['admin', 'admin', 'ec2-user', 'ec2-user']);
  });

  it('deprecates a built-in image of an older recipe version, which stays launchable', async () => {
    const old = builtinImageRow('us-east-1', { ...builtinImages[1]!, name: 'debian-12-amd64-20200101-0000' });
    await db.insertInto('images').values(old).execute();
    const now = new Date('2030-01-01T00:00:00.000Z');
    await seedBuiltinImages(db, config, now);
    const row = await db.selectFrom('images').selectAll().where('id', '=', old.id).executeTakeFirstOrThrow();
    expect(row.deprecation_time).toBe(now.toISOString());
    expect((await getLaunchableImage(ctxOf('123456789012'), old.id)).id).toBe(old.id);
  });

  it('the EC2 shape of a built-in image', async () => {
    await seedBuiltinImages(db, config);
    const row = await db.selectFrom('images').selectAll().where('owner_id', '=', '000000000001').where('region', '=', 'us-east-1').executeTakeFirstOrThrow();
    const img = imageToEc2(row, []);
    expect(img).toMatchObject({
      ImageOwnerAlias: 'cumulo',
      ImageLocation: `cumulo/${row.name}`,
      Public: true,
      Hypervisor: 'xen',
      SriovNetSupport: 'simple',
      BootMode: 'uefi-preferred',
      DeregistrationProtection: 'disabled',
    });
    expect(img.Tags).toBeUndefined();
    expect(img.ProductCodes).toBeUndefined();
  });
});

describe('getLaunchableImage', () => {
  beforeEach(async () => {
    await seedBuiltinImages(db, config);
  });

  it('finds a public image for any account, only in its region', async () => {
    const id = builtinImageId('us-east-1', builtinImages[0]!.name);
    expect((await getLaunchableImage(ctxOf('123456789012'), id)).name).toBe(builtinImages[0]!.name);
    await expect(getLaunchableImage(ctxOf('123456789012', 'eu-west-1'), id)).rejects.toMatchObject({
      code: 'InvalidAMIID.NotFound',
      message: `The image id '[${id}]' does not exist`,
    });
  });

  it('refuses malformed ids', async () => {
    await expect(getLaunchableImage(ctxOf('123456789012'), 'ami-nope')).rejects.toMatchObject({ code: 'InvalidAMIID.Malformed' });
  });

  it('private images launch for the owner and grantees only, and only when available', async () => {
    const base = builtinImageRow('us-east-1', { ...builtinImages[0]!, name: 'private-1' });
    const row = { ...base, id: 'ami-0123456789abcdef0', owner_id: '111111111111', owner_alias: null, is_public: 0 };
    await db.insertInto('images').values(row).execute();
    expect((await getLaunchableImage(ctxOf('111111111111'), row.id)).id).toBe(row.id);
    await expect(getLaunchableImage(ctxOf('222222222222'), row.id)).rejects.toMatchObject({ code: 'InvalidAMIID.NotFound' });
    await db.insertInto('image_launch_permissions').values({ image_id: row.id, grantee: '222222222222' }).execute();
    expect((await getLaunchableImage(ctxOf('222222222222'), row.id)).id).toBe(row.id);
    await db.updateTable('images').set({ state: 'pending' }).where('id', '=', row.id).execute();
    await expect(getLaunchableImage(ctxOf('111111111111'), row.id)).rejects.toMatchObject({ code: 'InvalidAMIID.Unavailable' });
  });
});
