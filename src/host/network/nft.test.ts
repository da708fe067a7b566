import { describe, expect, test } from 'vitest';
import { deleteFoundScript, elementScript, parseElements, tableScript, vpcMark } from './nft.js';

describe('tableScript', () => {
  const s = tableScript({ table: 'cumulo_ab12', vethPattern: 'cuab12*', imdsPort: 8775 });
  const rules: [string, string][] = [
    ['redirects the metadata address to the service', 'iifname "cuab12*" ip daddr 169.254.169.254 tcp dport 80 redirect to :8775'],
    ['drops spoofed sources whatever rp_filter says', 'iifname "cuab12*" fib saddr . iif oif missing drop'],
    ['marks instance packets with their VPC', 'iifname "cuab12*" meta mark set iifname map @vpc_of'],
    ['forwards between instances of one VPC', 'iifname "cuab12*" oifname "cuab12*" oifname . meta mark @vpc_members accept'],
    ['forwards nothing else from instances', 'iifname "cuab12*" drop'],
    ['forwards nothing else to instances', 'oifname "cuab12*" drop'],
    ['lets instances reach the metadata port', 'iifname "cuab12*" tcp dport 8775 accept'],
    ['closes the metadata port to other interfaces', 'tcp dport 8775 iifname != "lo" drop'],
    ['sets the TTL of metadata answers per instance', 'oifname "cuab12*" tcp sport 8775 oifname vmap @hop_limit'],
    ['has a chain per hop limit', 'chain ttl_64 {\n    ip ttl set 64\n  }'],
  ];
  test.each(rules)('%s', (_, rule) => expect(s).toContain(rule));

  test('declares before flushing, so a first run and a rerun both work, and keeps the elements', () => {
    expect(s.indexOf('map vpc_of')).toBeLessThan(s.indexOf('flush chain inet cumulo_ab12 input'));
    expect(s).not.toMatch(/flush (table|set|map)/);
    expect(s).not.toMatch(/delete table/);
  });

  test('the metadata port is what the rules use', () => {
    const t = tableScript({ table: 'cumulo_ab12', vethPattern: 'cuab12*', imdsPort: 40000 });
    expect(t).toContain('redirect to :40000');
    expect(t).not.toContain('8775');
  });
});

describe('elementScript', () => {
  const T = 'cumulo_ab12';
  const V = 'cuab1289abcdef';
  const cases: [string, Parameters<typeof elementScript>[2], Parameters<typeof elementScript>[3], string[]][] = [
    ['adds a new instance', undefined, { mark: 0x1234, hopLimit: 1 }, [
      'add element inet cumulo_ab12 vpc_of { "cuab1289abcdef" : 0x00001234 }',
      'add element inet cumulo_ab12 vpc_members { "cuab1289abcdef" . 0x00001234 }',
      'add element inet cumulo_ab12 hop_limit { "cuab1289abcdef" : jump ttl_1 }',
    ]],
    ['changes nothing when nothing changes', { mark: 5, hopLimit: 2 }, { mark: 5, hopLimit: 2 }, []],
    ['replaces by deleting the exact old elements first', { mark: 5, hopLimit: 2 }, { mark: 5, hopLimit: 3 }, [
      'delete element inet cumulo_ab12 vpc_of { "cuab1289abcdef" }',
      'delete element inet cumulo_ab12 vpc_members { "cuab1289abcdef" . 0x00000005 }',
      'delete element inet cumulo_ab12 hop_limit { "cuab1289abcdef" }',
      'add element inet cumulo_ab12 vpc_of { "cuab1289abcdef" : 0x00000005 }',
      'add element inet cumulo_ab12 vpc_members { "cuab1289abcdef" . 0x00000005 }',
      'add element inet cumulo_ab12 hop_limit { "cuab1289abcdef" : jump ttl_3 }',
    ]],
    ['removes', { mark: 5, hopLimit: 2 }, undefined, [
      'delete element inet cumulo_ab12 vpc_of { "cuab1289abcdef" }',
      'delete element inet cumulo_ab12 vpc_members { "cuab1289abcdef" . 0x00000005 }',
      'delete element inet cumulo_ab12 hop_limit { "cuab1289abcdef" }',
    ]],
    ['removing what is not there is nothing', undefined, undefined, []],
  ];
  test.each(cases)('%s', (_, before, after, lines) => {
    const s = elementScript(T, V, before, after);
    expect(s === '' ? [] : s.trimEnd().split('\n')).toEqual(lines);
  });
});

describe('parseElements', () => {
  // `nft -j list table inet cumulo_ab12`, trimmed to the sets (nft 1.0.6).
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'inet', name: 'cumulo_ab12' } },
      { map: { name: 'vpc_of', type: 'ifname', map: 'mark', elem: [['cuab12aaaaaaaa', 4660], ['cuab12bbbbbbbb', 7]] } },
      { set: { name: 'vpc_members', type: ['ifname', 'mark'], elem: [{ concat: ['cuab12aaaaaaaa', 4660] }, { concat: ['cuab12bbbbbbbb', 7] }] } },
      { map: { name: 'hop_limit', type: 'ifname', map: 'verdict', elem: [['cuab12aaaaaaaa', { jump: { target: 'ttl_2' } }]] } },
      { chain: { name: 'ttl_1' } },
    ],
  });

  test('reads each veth back', () => {
    const found = parseElements(json);
    expect(found.get('cuab12aaaaaaaa')).toEqual({ mark: 4660, members: [4660], hopLimit: 2 });
    expect(found.get('cuab12bbbbbbbb')).toEqual({ mark: 7, members: [7] });
  });

  test('an empty table has none', () => {
    expect(parseElements(JSON.stringify({ nftables: [{ map: { name: 'vpc_of' } }] })).size).toBe(0);
  });

  test('deleteFoundScript deletes exactly what was found', () => {
    expect(deleteFoundScript('t', 'v', { mark: 7, members: [7, 8] }).trimEnd().split('\n')).toEqual([
      'delete element inet t vpc_of { "v" }',
      'delete element inet t vpc_members { "v" . 0x00000007 }',
      'delete element inet t vpc_members { "v" . 0x00000008 }',
    ]);
  });
});

describe('vpcMark', () => {
  test('is stable per VPC, differs between VPCs, and is never 0', () => {
    expect(vpcMark('vpc-0123456789abcdef0')).toBe(vpcMark('vpc-0123456789abcdef0'));
    expect(vpcMark('vpc-0123456789abcdef0')).not.toBe(vpcMark('vpc-0123456789abcdef1'));
    expect(vpcMark(undefined)).toBe(1);
    for (const v of ['vpc-a', 'vpc-b', 'vpc-c']) expect(vpcMark(v)).toBeGreaterThan(0);
  });
});
