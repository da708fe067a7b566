import { describe, expect, test } from 'vitest';
import { parseLimitsArgs } from './limits.js';

describe('`cumulo accounts limits` arguments', () => {
  test('an account, a region, several --set and --unset', () => {
    expect(parseLimitsArgs(['alice'])).toEqual({ account: 'alice', set: [], unset: [] });
    expect(parseLimitsArgs(['alice', '--set', 'vpcs=10', '--region', 'eu-west-1', '--set', 'gp3-storage-tib=100', '--unset', 'elastic-ips'])).toEqual({
      account: 'alice',
      region: 'eu-west-1',
      set: [
        ['vpcs', 10],
        ['gp3-storage-tib', 100],
      ],
      unset: ['elastic-ips'],
    });
  });

  test.each([
    [[], 'accounts limits needs an account name'],
    [['--set', 'vpcs=1'], 'accounts limits needs an account name'],
    [['alice', '--set'], 'unexpected argument --set'],
    [['alice', '--force', 'x'], 'unexpected argument --force'],
    [['alice', '--set', 'vpcs'], '--set takes QUOTA=VALUE, not vpcs'],
    [['alice', '--set', 'vpcs=-2'], 'vpcs must be a whole number of VPCs from 0 to 2147483647, not "-2"'],
    [['alice', '--set', 'cores=2'], 'no quota named cores'],
    [['alice', '--unset', 'cores'], 'no quota named cores'],
  ])('%j: %s', (args, message) => {
    expect(() => parseLimitsArgs(args as string[])).toThrow(message);
  });
});
