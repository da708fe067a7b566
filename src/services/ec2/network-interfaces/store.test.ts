import { describe, expect, test } from 'vitest';
import { attachmentStatusFor, lowestFree, newMacAddress, reservedOrOutside, toInstanceNetworkInterface, toNetworkInterface, type EniRow } from './store.js';

describe('private address allocation', () => {
  test('skips the four reserved addresses at the start', () => {
    expect(lowestFree('172.31.0.0/20', new Set(), 3)).toEqual(['172.31.0.4', '172.31.0.5', '172.31.0.6']);
  });

  test('fills holes first, lowest address first', () => {
    const used = new Set(['10.0.0.4', '10.0.0.5', '10.0.0.7']);
    expect(lowestFree('10.0.0.0/24', used, 3)).toEqual(['10.0.0.6', '10.0.0.8', '10.0.0.9']);
  });

  test('never hands out the broadcast address: a /28 has 11 usable addresses', () => {
    const all = lowestFree('10.0.0.16/28', new Set(), 100);
    expect(all).toHaveLength(11);
    expect(all[0]).toBe('10.0.0.20');
    expect(all.at(-1)).toBe('10.0.0.30');
  });

  test('returns fewer than asked when the subnet is full', () => {
    const used = new Set(lowestFree('10.0.0.16/28', new Set(), 10));
    expect(lowestFree('10.0.0.16/28', used, 5)).toEqual(['10.0.0.30']);
    used.add('10.0.0.30');
    expect(lowestFree('10.0.0.16/28', used, 5)).toEqual([]);
  });

  test('an asked-for address must be inside the subnet and not reserved', () => {
    expect(reservedOrOutside('10.0.0.0/24', '10.0.0.10')).toBeUndefined();
    expect(reservedOrOutside('10.0.0.0/24', '10.0.1.10')?.message).toContain("does not fall within the subnet's address range");
    for (const ip of ['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.255']) {
      expect(reservedOrOutside('10.0.0.0/24', ip)?.message).toContain('reserved');
    }
    expect(reservedOrOutside('10.0.0.0/24', '10.0.0.256')?.code).toBe('InvalidParameterValue');
    expect(reservedOrOutside('10.0.0.0/24', 'fe80::1')?.code).toBe('InvalidParameterValue');
  });

  test("MAC addresses are locally administered unicast, like EC2's 02:…", () => {
    const macs = new Set(Array.from({ length: 100 }, newMacAddress));
    expect(macs.size).toBe(100);
    for (const m of macs) expect(m).toMatch(/^02(:[0-9a-f]{2}){5}$/);
  });

  test('attachment status follows the instance', () => {
    expect(attachmentStatusFor('pending', false)).toBe('attaching');
    expect(attachmentStatusFor('pending', true)).toBe('attached');
    expect(attachmentStatusFor('running', true)).toBe('attached');
    expect(attachmentStatusFor('stopped', true)).toBe('attached');
    expect(attachmentStatusFor('shutting-down', true)).toBe('detaching');
  });
});

describe('public addresses on the two shapes of an interface', () => {
  const row: EniRow = {
    id: 'eni-0123456789abcdef0',
    account_id: '111122223333',
    region: 'us-east-1',
    subnet_id: 'subnet-0123456789abcdef0',
    vpc_id: 'vpc-0123456789abcdef0',
    availability_zone: 'us-east-1a',
    private_ip: '10.0.0.4',
    mac_address: '02:00:00:00:00:01',
    description: '',
    interface_type: 'interface',
    status: 'in-use',
    instance_id: 'i-0123456789abcdef0',
    device_index: 1,
    attachment_id: 'eni-attach-0123456789abcdef0',
    delete_on_termination: 0,
    source_dest_check: 1,
    security_groups: '[]',
    secondary_private_ips: '["10.0.0.5","10.0.0.6"]',
    public_ip: '198.18.0.2',
    created_at: '2024-01-01T00:00:00.000Z',
    attach_time: '2024-01-01T00:00:00.000Z',
    auto_public_ip: 0,
    requester_id: null,
    requester_managed: 0,
  };
  const elastic = { PublicIp: '198.18.0.9', PublicDnsName: '', IpOwnerId: '111122223333', AllocationId: 'eipalloc-1', AssociationId: 'eipassoc-1' };
  const ephemeral = { PublicIp: '198.18.0.2', PublicDnsName: 'ec2-198-18-0-2.compute-1.amazonaws.com', IpOwnerId: 'amazon' };

  test("each private address shows its own association; the primary's is the interface's", () => {
    const n = toNetworkInterface(
      row,
      [],
      'attached',
      new Map([
        ['10.0.0.4', ephemeral],
        ['10.0.0.6', elastic],
      ]),
    );
    expect(n.Association).toEqual(ephemeral);
    expect(n.PrivateIpAddresses!.map((p) => [p.PrivateIpAddress, p.Primary, p.Association?.PublicIp])).toEqual([
      ['10.0.0.4', true, '198.18.0.2'],
      ['10.0.0.5', false, undefined],
      ['10.0.0.6', false, '198.18.0.9'],
    ]);
    expect(n.Attachment).toMatchObject({ DeviceIndex: 1, Status: 'attached', DeleteOnTermination: false });
  });

  test('inside an instance an association carries no allocation or association id', () => {
    const i = toInstanceNetworkInterface(row, 'attached', new Map([['10.0.0.6', elastic]]));
    expect(i.Association).toBeUndefined();
    expect(i.PrivateIpAddresses![2]!.Association).toEqual({ PublicIp: '198.18.0.9', PublicDnsName: '', IpOwnerId: '111122223333' });
  });

  test('without the ledger, the public_ip column still shows on the primary address', () => {
    expect(toNetworkInterface(row, [], 'attached').Association).toEqual({ PublicIp: '198.18.0.2', PublicDnsName: '' });
    expect(toInstanceNetworkInterface({ ...row, public_ip: null }, 'attached').Association).toBeUndefined();
    // An empty ledger view means no public address at all, whatever the column says.
    expect(toNetworkInterface(row, [], 'attached', new Map()).Association).toBeUndefined();
  });
});
