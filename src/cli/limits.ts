// `cumulo accounts limits NAME [--region R] [--set QUOTA=VALUE]… [--unset QUOTA]…`: an account's
// EC2 service quotas in a region (EC2's defaults, the account's overrides, what it uses), and
// overrides set or removed, in one region (--region) or in all of them.
import type { Config } from '../config.js';
import type { Accounts } from '../services/accounts.js';
import { findQuota, parseQuotaValue, QUOTAS } from '../services/ec2/quotas/catalog.js';
import { quotaReport, setQuotaOverride } from '../services/ec2/quotas/store.js';
import type { Db } from '../store/db.js';

export const limitsUsage = `  accounts limits NAME [--region R]
                            the account's EC2 quotas in a region (default: the first one):
                            value, EC2's default, usage
  accounts limits NAME --set QUOTA=VALUE [--set …] [--unset QUOTA] [--region R]
                            override quotas of the account in region R, or in every region`;

interface LimitsArgs {
  account: string;
  region?: string;
  set: [string, number][];
  unset: string[];
}

export function parseLimitsArgs(args: string[]): LimitsArgs {
  const [account, ...rest] = args;
  if (!account || account.startsWith('--')) throw new Error('accounts limits needs an account name');
  const out: LimitsArgs = { account, set: [], unset: [] };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    const arg = rest[i + 1];
    if (arg === undefined || !['--region', '--set', '--unset'].includes(flag)) throw new Error(`unexpected argument ${flag}`);
    i++;
    if (flag === '--region') out.region = arg;
    else if (flag === '--unset') {
      if (!findQuota(arg)) throw new Error(`no quota named ${arg}; the quotas are: ${QUOTAS.map((q) => q.name).join(', ')}`);
      out.unset.push(arg);
    } else {
      const eq = arg.indexOf('=');
      if (eq < 1) throw new Error(`--set takes QUOTA=VALUE, not ${arg}`);
      const name = arg.slice(0, eq);
      out.set.push([name, parseQuotaValue(name, arg.slice(eq + 1))]);
    }
  }
  return out;
}

export async function limitsCommand(config: Config, db: Db, accounts: Accounts, args: string[]): Promise<number> {
  const a = parseLimitsArgs(args);
  const account = (await accounts.list()).find((x) => x.name === a.account || x.id === a.account);
  if (!account) throw new Error(`no account named ${a.account}`);
  if (a.region !== undefined && !config.regions.some((r) => r.name === a.region)) {
    throw new Error(`no region ${a.region}; the regions are: ${config.regions.map((r) => r.name).join(', ')}`);
  }
  if (a.set.length || a.unset.length) {
    await db.transaction().execute(async (trx) => {
      for (const [name, value] of a.set) await setQuotaOverride(trx, account.id, a.region, name, value);
      for (const name of a.unset) await setQuotaOverride(trx, account.id, a.region, name, null);
    });
    const where = a.region ?? 'every region';
    for (const [name, value] of a.set) console.log(`${name} = ${value} for ${account.name} in ${where}`);
    for (const name of a.unset) console.log(`${name}: ${account.name}'s override in ${where} removed`);
    return 0;
  }
  const region = a.region ?? config.defaultRegion;
  const rows = await quotaReport(db, account.id, region);
  console.log(`account ${account.name} (${account.id}), region ${region}`);
  const table = [
    ['QUOTA', 'VALUE', 'DEFAULT', 'USAGE', 'UNIT', 'COUNTED', 'AWS CODE'],
    ...rows.map((r) => [
      r.name,
      r.source === 'default' ? String(r.value) : `${r.value} (${r.source === 'region' ? region : 'all regions'})`,
      String(r.default),
      String(r.usage),
      r.unit,
      r.scope === 'region' ? 'per region' : `most in one ${r.scope}`,
      r.code,
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table)
    console.log(
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}
