import { describe, expect, test } from 'vitest';
import { tableScript, type TableOptions } from './nft.js';

const base: TableOptions = { table: 'cumulo_ab12', uplinkPattern: 'cvab12*', imdsPort: 8775, dnsPort: 8776, apiPort: 8777, egress: false };

/** The rules of one chain of the script, without its hook line. */
function chain(script: string, name: string): string[] {
  const m = new RegExp(`\\n  chain ${name} \\{\\n((?:    [^\\n]*\\n)*)  \\}`).exec(script);
  if (!m) throw new Error(`no chain ${name}`);
  return m[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('type '));
}

describe('tableScript', () => {
  const s = tableScript(base);

  test('replaces the whole table in one transaction, idempotently', () => {
    expect(s.split('\n').slice(0, 3)).toEqual(['table inet cumulo_ab12 {}', 'delete table inet cumulo_ab12', 'table inet cumulo_ab12 {']);
    expect(s).toContain('type filter hook input priority filter; policy accept;');
    expect(s).toContain('type filter hook forward priority filter; policy accept;');
    expect(s).toContain('type nat hook postrouting priority srcnat; policy accept;');
  });

  test('input: uplinks reach replies, the metadata, DNS and API endpoint ports and ping, nothing else; the ports are closed to all but lo', () => {
    expect(chain(s, 'input')).toEqual([
      'iifname "cvab12*" meta nfproto ipv6 drop',
      'iifname "cvab12*" ct state established,related accept',
      'iifname "cvab12*" tcp dport 8775 accept',
      'iifname "cvab12*" meta l4proto { tcp, udp } th dport 8776 accept',
      'iifname "cvab12*" tcp dport 8777 accept',
      'iifname "cvab12*" icmp type echo-request accept',
      'iifname "cvab12*" drop',
      'tcp dport 8775 iifname != "lo" drop',
      'meta l4proto { tcp, udp } th dport 8776 iifname != "lo" drop',
      'tcp dport 8777 iifname != "lo" drop',
    ]);
  });

  const forward: [string, boolean, string[], string[]][] = [
    [
      'egress off: uplink ↔ uplink only; nothing leaves the machine, nothing comes in',
      false,
      [
        'iifname "cvab12*" meta nfproto ipv6 drop',
        'oifname "cvab12*" meta nfproto ipv6 drop',
        'iifname "cvab12*" oifname "cvab12*" accept',
        'iifname "cvab12*" drop',
        'oifname "cvab12*" ct state established,related accept',
        'oifname "cvab12*" drop',
      ],
      [],
    ],
    [
      'egress on: out masqueraded, back only replies',
      true,
      [
        'iifname "cvab12*" meta nfproto ipv6 drop',
        'oifname "cvab12*" meta nfproto ipv6 drop',
        'iifname "cvab12*" oifname "cvab12*" accept',
        'iifname "cvab12*" accept',
        'oifname "cvab12*" ct state established,related accept',
        'oifname "cvab12*" drop',
      ],
      ['iifname "cvab12*" oifname != "cvab12*" masquerade'],
    ],
  ];
  test.each(forward)('%s', (_, egress, fwd, post) => {
    const t = tableScript({ ...base, egress });
    expect(chain(t, 'forward')).toEqual(fwd);
    expect(chain(t, 'postrouting')).toEqual(post);
  });

  test('the ports are what the rules use', () => {
    const t = tableScript({ ...base, imdsPort: 40000, dnsPort: 40001, apiPort: 40002 });
    expect(t).toContain('tcp dport 40000 accept');
    expect(t).toContain('th dport 40001 accept');
    expect(t).toContain('tcp dport 40002 accept');
    expect(t).toContain('tcp dport 40002 iifname != "lo" drop');
    expect(t).not.toMatch(/877[567]/);
  });

  const bad: [string, Partial<TableOptions>][] = [
    ['a table name that is not an identifier', { table: 'cumulo ab; flush ruleset' }],
    ['an interface pattern with a quote', { uplinkPattern: 'cv"*' }],
    ['a port out of range', { imdsPort: 0 }],
    ['a port that is not an integer', { dnsPort: 53.5 }],
    ['an API port out of range', { apiPort: 65536 }],
  ];
  test.each(bad)('refuses %s', (_, over) => expect(() => tableScript({ ...base, ...over })).toThrow());
});
