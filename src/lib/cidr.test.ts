import { describe, expect, it, test } from 'vitest';
import {
  addressAt,
  contains,
  formatCidr,
  formatIp,
  ipInCidr,
  ipv4ToNumber,
  isRfc1918,
  numberToIpv4,
  overlaps,
  parseCidr,
  parseCidrLoose,
  parseCidrStrict,
  parseIp,
  size,
  type Cidr,
} from './cidr.js';

const strict = (s: string): Cidr => {
  const c = parseCidrStrict(s);
  if (!c) throw new Error(`test setup: ${s} should parse`);
  return c;
};

describe('parseIp: IPv4', () => {
  test.each<[string, bigint]>([
    ['0.0.0.0', 0n],
    ['255.255.255.255', 0xffffffffn],
    ['10.0.0.1', 0x0a000001n],
    ['192.168.1.254', 0xc0a801fen],
    ['172.16.0.0', 0xac100000n],
    ['1.2.3.4', 0x01020304n],
    ['100.64.0.10', 0x6440000an],
    ['9.99.199.250', 0x0963c7fan],
  ])('%s', (s, value) => {
    expect(parseIp(s)).toEqual({ family: 4, value });
  });

  test.each([
    '',
    ' ',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '01.2.3.4',
    '1.02.3.4',
    '1.2.3.00',
    '00.0.0.0',
    '1.2.3.256',
    '256.0.0.0',
    '999.1.1.1',
    '1000.1.1.1',
    '1.2.3.-4',
    '+1.2.3.4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4\n',
    '1. 2.3.4',
    '1.2.3.a',
    '0x1.2.3.4',
    '1.2.3.4/32',
    '1e2.1.1.1',
    '١.٢.٣.٤', // non-ASCII digits
    '16909060', // integer form
    '1.2.3.4.',
  ])('rejects %j', (s) => {
    expect(parseIp(s)).toBeUndefined();
  });
});

describe('parseIp: IPv6', () => {
  test.each<[string, bigint]>([
    ['::', 0n],
    ['::1', 1n],
    ['1::', 1n << 112n],
    ['2001:db8::', 0x20010db8n << 96n],
    ['2001:DB8::1', (0x20010db8n << 96n) | 1n],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', (0x20010db8n << 96n) | 1n],
    ['2001:db8:0:0:0:0:0:1', (0x20010db8n << 96n) | 1n],
    ['2001:db8::0:1', (0x20010db8n << 96n) | 1n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n],
    ['fe80::1:2', (0xfe80n << 112n) | (1n << 16n) | 2n],
    ['1:2:3:4:5:6:7::', 0x0001000200030004000500060007_0000n],
    ['::2:3:4:5:6:7:8', 0x0000000200030004000500060007_0008n],
    ['1:2:3:4::5:6:7', 0x0001000200030004_0000000500060007n],
    ['::ffff:1.2.3.4', 0xffff01020304n],
    ['::FFFF:255.255.255.255', 0xffffffffffffn],
    ['::1.2.3.4', 0x01020304n],
    ['64:ff9b::192.0.2.33', (0x64ff9bn << 96n) | 0xc0000221n],
    ['1:2:3:4:5:6:1.2.3.4', 0x000100020003000400050006_01020304n],
    ['0000:0000:0000:0000:0000:ffff:255.255.255.255', 0xffffffffffffn],
  ])('%s', (s, value) => {
    expect(parseIp(s)).toEqual({ family: 6, value });
  });

  test.each([
    ':',
    ':::',
    '1::2::3',
    '::1::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4::5:6:7:8',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    ':1::',
    '::1:',
    '12345::',
    'g::',
    '2001:db8::/32',
    ' ::1',
    '::1 ',
    'fe80::1%eth0',
    '::ffff:1.2.3',
    '::ffff:01.2.3.4',
    '::ffff:1.2.3.256',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:7:1.2.3.4',
    '[::1]',
    '0x1::',
    '-1::',
    '1:2:3:4:5:6:7:8:',
  ])('rejects %j', (s) => {
    expect(parseIp(s)).toBeUndefined();
  });
});

describe('formatIp', () => {
  test.each<[4 | 6, bigint, string]>([
    [4, 0n, '0.0.0.0'],
    [4, 0xffffffffn, '255.255.255.255'],
    [4, 0x0a000001n, '10.0.0.1'],
    [6, 0n, '::'],
    [6, 1n, '::1'],
    [6, 1n << 112n, '1::'],
    [6, (0x20010db8n << 96n) | 1n, '2001:db8::1'],
    [6, 0x20010db8n << 96n, '2001:db8::'],
    [6, (1n << 128n) - 1n, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    // A single zero group is not compressed (RFC 5952 4.2.2).
    [6, 0x20010db8_0000_0001_0001_0001_0001_0001n, '2001:db8:0:1:1:1:1:1'],
    // The longest run wins; on a tie the first one (RFC 5952 4.2.3).
    [6, 0x2001_0000_0000_0001_0000_0000_0000_0001n, '2001:0:0:1::1'],
    [6, 0x2001_0db8_0000_0000_0001_0000_0000_0001n, '2001:db8::1:0:0:1'],
    // Leading zeros dropped, lower case.
    [6, 0x2001_0db8_00ab_0c00_0000_0000_0000_00ffn, '2001:db8:ab:c00::ff'],
    [6, 0xffff01020304n, '::ffff:102:304'],
    [6, 0x0001_0002_0003_0004_0005_0006_0007_0008n, '1:2:3:4:5:6:7:8'],
    [6, 0x0000_0002_0003_0004_0005_0006_0007_0008n, '0:2:3:4:5:6:7:8'],
    [6, 0x0001_0002_0003_0004_0005_0006_0007_0000n, '1:2:3:4:5:6:7:0'],
  ])('IPv%i %s → %s', (family, value, text) => {
    expect(formatIp(family, value)).toBe(text);
  });

  it('round-trips with parseIp', () => {
    for (const s of ['::', '::1', '2001:db8::1', 'fe80::1:2', '1:0:0:2::3', '10.1.2.3', '2600:1f18:abcd:ef01::']) {
      const ip = parseIp(s)!;
      expect(formatIp(ip.family, ip.value)).toBe(s);
    }
  });

  it('canonicalises other spellings', () => {
    expect(formatIp(6, parseIp('2001:0DB8:0000:0000:0000:0000:0000:0001')!.value)).toBe('2001:db8::1');
    expect(formatIp(6, parseIp('0:0:0:0:0:0:0:0')!.value)).toBe('::');
  });

  it('rejects values out of range', () => {
    expect(() => formatIp(4, 1n << 32n)).toThrow(RangeError);
    expect(() => formatIp(4, -1n)).toThrow(RangeError);
    expect(() => formatIp(6, 1n << 128n)).toThrow(RangeError);
  });
});

describe('parseCidrStrict / parseCidrLoose', () => {
  test.each<[string, 4 | 6, bigint, number]>([
    ['10.0.0.0/16', 4, 0x0a000000n, 16],
    ['10.0.0.0/8', 4, 0x0a000000n, 8],
    ['0.0.0.0/0', 4, 0n, 0],
    ['10.1.2.3/32', 4, 0x0a010203n, 32],
    ['172.31.255.240/28', 4, 0xac1ffff0n, 28],
    ['192.168.0.0/16', 4, 0xc0a80000n, 16],
    ['::/0', 6, 0n, 0],
    ['2001:db8::/32', 6, 0x20010db8n << 96n, 32],
    ['2600:1f18:1234:5600::/56', 6, 0x2600_1f18_1234_5600n << 64n, 56],
    ['2001:db8:1:2::/64', 6, 0x2001_0db8_0001_0002n << 64n, 64],
    ['::1/128', 6, 1n, 128],
  ])('%s is valid both ways', (s, family, network, prefix) => {
    expect(parseCidrStrict(s)).toEqual({ family, network, prefix });
    expect(parseCidrLoose(s)).toEqual({ family, network, prefix });
    expect(parseCidr(s)).toEqual({ family, network, prefix });
  });

  test.each<[string, string]>([
    ['10.0.0.1/16', '10.0.0.0/16'],
    ['10.0.0.1/8', '10.0.0.0/8'],
    ['192.168.1.77/24', '192.168.1.0/24'],
    ['1.2.3.4/0', '0.0.0.0/0'],
    ['172.16.5.4/12', '172.16.0.0/12'],
    ['2001:db8::1/32', '2001:db8::/32'],
    ['2001:db8:1:2:3:4:5:6/64', '2001:db8:1:2::/64'],
    ['::1/0', '::/0'],
  ])('%s has host bits: strict rejects, loose normalises to %s', (s, normal) => {
    expect(parseCidrStrict(s)).toBeUndefined();
    expect(parseCidr(s)).toBeUndefined();
    expect(formatCidr(parseCidrLoose(s)!)).toBe(normal);
  });

  test.each([
    '',
    '/',
    '10.0.0.0',
    '10.0.0.0/',
    '/16',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/08',
    '10.0.0.0/016',
    '10.0.0.0/1.5',
    '10.0.0.0/16/16',
    '10.0.0.0/ 16',
    '10.0.0.0 /16',
    ' 10.0.0.0/16',
    '10.0.0.0/16 ',
    '10.0.0.0/16\n',
    '010.0.0.0/16',
    '10.0.0.256/32',
    '10.0.0/24',
    '2001:db8::/129',
    '2001:db8::/1000',
    '2001:db8::/0128',
    '2001:db8::1::/64',
    'fe80::%eth0/64',
    'abc/8',
    '10.0.0.0/a',
  ])('rejects %j', (s) => {
    expect(parseCidrStrict(s)).toBeUndefined();
    expect(parseCidrLoose(s)).toBeUndefined();
  });
});

describe('formatCidr', () => {
  test.each([
    ['10.0.0.0/16', '10.0.0.0/16'],
    ['2001:0DB8:0000::/32', '2001:db8::/32'],
    ['2001:db8:0:0:0:0:0:0/48', '2001:db8::/48'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.0/104', '::ffff:a00:0/104'],
  ])('%s → %s', (s, text) => {
    expect(formatCidr(strict(s))).toBe(text);
  });
});

describe('contains / overlaps', () => {
  test.each<[string, string, boolean]>([
    ['10.0.0.0/16', '10.0.0.0/16', true],
    ['10.0.0.0/16', '10.0.1.0/24', true],
    ['10.0.0.0/16', '10.0.255.240/28', true],
    ['10.0.0.0/16', '10.1.0.0/24', false],
    ['10.0.0.0/24', '10.0.0.0/16', false],
    ['0.0.0.0/0', '203.0.113.7/32', true],
    ['10.0.0.0/8', '11.0.0.0/8', false],
    ['192.168.0.0/16', '192.168.255.255/32', true],
    ['2001:db8::/32', '2001:db8:1::/48', true],
    ['2001:db8::/32', '2001:db9::/48', false],
    ['::/0', '2001:db8::/64', true],
    ['0.0.0.0/0', '::/0', false],
    ['::/0', '0.0.0.0/0', false],
    ['::/96', '::ffff:0:0/96', false],
  ])('contains(%s, %s) = %s', (a, b, expected) => {
    expect(contains(strict(a), strict(b))).toBe(expected);
  });

  test.each<[string, string, boolean]>([
    ['10.0.0.0/16', '10.0.0.0/16', true],
    ['10.0.0.0/16', '10.0.128.0/17', true],
    ['10.0.128.0/17', '10.0.0.0/16', true],
    ['10.0.0.0/17', '10.0.128.0/17', false],
    ['10.0.0.0/24', '10.0.1.0/24', false],
    ['10.0.0.0/8', '10.255.255.255/32', true],
    ['172.16.0.0/12', '172.32.0.0/16', false],
    ['172.16.0.0/12', '172.31.0.0/16', true],
    ['0.0.0.0/0', '1.2.3.4/32', true],
    ['2001:db8::/48', '2001:db8:0:ffff::/64', true],
    ['2001:db8::/48', '2001:db8:1::/48', false],
    ['10.0.0.0/8', '::/0', false],
  ])('overlaps(%s, %s) = %s', (a, b, expected) => {
    expect(overlaps(strict(a), strict(b))).toBe(expected);
    expect(overlaps(strict(b), strict(a))).toBe(expected);
  });
});

describe('size / addressAt', () => {
  test.each<[string, bigint]>([
    ['10.0.0.0/16', 65536n],
    ['10.0.0.0/28', 16n],
    ['10.0.0.1/32', 1n],
    ['0.0.0.0/0', 1n << 32n],
    ['2001:db8::/64', 1n << 64n],
    ['::/0', 1n << 128n],
    ['::1/128', 1n],
  ])('size(%s) = %s', (s, n) => {
    expect(size(strict(s))).toBe(n);
  });

  it('indexes addresses from the network address', () => {
    const c = strict('10.0.1.0/24');
    expect(addressAt(c, 0n)).toBe('10.0.1.0');
    expect(addressAt(c, 1n)).toBe('10.0.1.1');
    expect(addressAt(c, 2n)).toBe('10.0.1.2'); // the VPC DNS address when the block is the VPC's
    expect(addressAt(c, 3n)).toBe('10.0.1.3');
    expect(addressAt(c, 4n)).toBe('10.0.1.4'); // first address EC2 hands out in a subnet
    expect(addressAt(c, 255n)).toBe('10.0.1.255');
    expect(addressAt(strict('10.0.0.0/16'), 256n)).toBe('10.0.1.0');
    expect(addressAt(strict('10.0.0.0/16'), 65535n)).toBe('10.0.255.255');
    expect(addressAt(strict('0.0.0.0/0'), (1n << 32n) - 1n)).toBe('255.255.255.255');
  });

  it('indexes IPv6 blocks', () => {
    const c = strict('2001:db8:1:2::/64');
    expect(addressAt(c, 0n)).toBe('2001:db8:1:2::');
    expect(addressAt(c, 1n)).toBe('2001:db8:1:2::1');
    expect(addressAt(c, 0xffffn)).toBe('2001:db8:1:2::ffff');
    expect(addressAt(c, 0x10000n)).toBe('2001:db8:1:2::1:0');
    expect(addressAt(c, (1n << 64n) - 1n)).toBe('2001:db8:1:2:ffff:ffff:ffff:ffff');
  });

  it('throws RangeError outside the block', () => {
    const c = strict('10.0.1.0/24');
    expect(() => addressAt(c, 256n)).toThrow(RangeError);
    expect(() => addressAt(c, -1n)).toThrow(RangeError);
    expect(() => addressAt(strict('1.2.3.4/32'), 1n)).toThrow(RangeError);
  });
});

describe('ipInCidr', () => {
  test.each<[string, string, boolean]>([
    ['10.0.0.5', '10.0.0.0/24', true],
    ['10.0.0.0', '10.0.0.0/24', true],
    ['10.0.0.255', '10.0.0.0/24', true],
    ['10.0.1.0', '10.0.0.0/24', false],
    ['9.255.255.255', '10.0.0.0/8', false],
    ['203.0.113.9', '0.0.0.0/0', true],
    ['1.2.3.4', '1.2.3.4/32', true],
    ['1.2.3.5', '1.2.3.4/32', false],
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['::ffff:10.0.0.1', '10.0.0.0/8', false], // IPv4-mapped IPv6 is still IPv6
    ['10.0.0.1', '::/0', false],
    ['::1', '0.0.0.0/0', false],
    ['not-an-ip', '0.0.0.0/0', false],
    ['', '0.0.0.0/0', false],
    ['10.0.0.01', '10.0.0.0/8', false],
    [' 10.0.0.1', '10.0.0.0/8', false],
  ])('ipInCidr(%j, %s) = %s', (ip, c, expected) => {
    expect(ipInCidr(ip, strict(c))).toBe(expected);
  });
});

describe('isRfc1918', () => {
  test.each<[string, boolean]>([
    ['10.0.0.0/8', true],
    ['10.0.0.0/16', true],
    ['10.255.255.0/24', true],
    ['10.0.0.0/7', false],
    ['11.0.0.0/16', false],
    ['172.16.0.0/12', true],
    ['172.16.0.0/16', true],
    ['172.31.0.0/16', true],
    ['172.31.255.255/32', true],
    ['172.15.0.0/16', false],
    ['172.32.0.0/16', false],
    ['172.0.0.0/11', false], // contains 172.16/12 but is larger
    ['192.168.0.0/16', true],
    ['192.168.100.0/24', true],
    ['192.168.0.0/15', false],
    ['192.169.0.0/16', false],
    ['100.64.0.0/16', false], // shared address space, not RFC 1918
    ['0.0.0.0/0', false],
    ['fd00::/8', false],
    ['::ffff:a00:0/104', false],
  ])('%s → %s', (s, expected) => {
    expect(isRfc1918(strict(s))).toBe(expected);
  });
});

describe('IPv4 as 32-bit numbers', () => {
  test.each([
    ['0.0.0.0', 0],
    ['10.0.1.5', 0x0a000105],
    ['169.254.128.1', 0xa9fe8001],
    ['255.255.255.255', 0xffffffff],
  ])('%s ⇄ %d', (ip, n) => {
    expect(ipv4ToNumber(ip)).toBe(n);
    expect(numberToIpv4(n)).toBe(ip);
  });

  test('only a strict dotted quad is a number', () => {
    for (const bad of ['', '10.0.0', '10.0.0.256', '010.0.0.1', ' 10.0.0.1', '10.0.0.1/32', '::1', '10.0.0.1; flush ruleset'])
      expect(() => ipv4ToNumber(bad)).toThrow('not an IPv4 address');
  });
});
