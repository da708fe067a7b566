// The host's nftables table of one cumulo server, `inet cumulo_<tag>`, built as text by a pure
// function (table-tested in nft.test.ts). Each VPC namespace filters its own traffic (vpc-rules.ts);
// this table only guards the host, which plays the internet for the VPCs' uplinks (`cv<tag>…`):
//
//   input        from uplinks: replies, the metadata, DNS and API endpoint ports, ping; nothing else
//                reaches the host. Those ports are closed to every interface but loopback
//   forward      uplink ↔ uplink (public IPs between VPCs, hairpin); uplink → elsewhere only with
//                egress on (masqueraded), and back only replies: never a new connection from outside
//   postrouting  egress: masquerade what leaves the machine from an uplink
//
// IPv6 from uplinks is dropped. The table holds no elements: init() replaces it whole.

export interface TableOptions {
  table: string;
  /** Interface name pattern of the host ends of the VPC uplinks, e.g. `cvab12*`. */
  uplinkPattern: string;
  /** The metadata service's port on the host (the DNAT target of 169.254.169.254:80 in every VPC). */
  imdsPort: number;
  /** The DNS resolver's port on the host, UDP and TCP. */
  dnsPort: number;
  /** The API's endpoint for instances (HTTPS; the DNAT target of <VPC base+2>:443). */
  apiPort: number;
  /** NAT off the machine for instances with a public IP (CUMULO_EGRESS=on). */
  egress: boolean;
}

function checkPort(p: number): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`bad port: ${p}`);
  return p;
}

/** The whole table as one transaction that replaces it (idempotent). */
export function tableScript(o: TableOptions): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(o.table)) throw new Error(`bad table name: ${o.table}`);
  if (!/^[A-Za-z0-9_.-]{1,15}\*?$/.test(o.uplinkPattern)) throw new Error(`bad interface pattern: ${o.uplinkPattern}`);
  const t = o.table;
  const up = JSON.stringify(o.uplinkPattern);
  const imds = checkPort(o.imdsPort);
  const dns = checkPort(o.dnsPort);
  const api = checkPort(o.apiPort);
  const lines: string[] = [
    // Declare-then-delete (nft 1.0.6 has no `destroy`): the table is replaced whole, so chains and
    // sets of an older version go too, and the host is never without it in between.
    `table inet ${t} {}`,
    `delete table inet ${t}`,
    `table inet ${t} {`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname ${up} meta nfproto ipv6 drop`,
    `    iifname ${up} ct state established,related accept`,
    `    iifname ${up} tcp dport ${imds} accept`,
    `    iifname ${up} meta l4proto { tcp, udp } th dport ${dns} accept`,
    `    iifname ${up} tcp dport ${api} accept`,
    `    iifname ${up} icmp type echo-request accept`,
    `    iifname ${up} drop`,
    `    tcp dport ${imds} iifname != "lo" drop`,
    `    meta l4proto { tcp, udp } th dport ${dns} iifname != "lo" drop`,
    `    tcp dport ${api} iifname != "lo" drop`,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    iifname ${up} meta nfproto ipv6 drop`,
    `    oifname ${up} meta nfproto ipv6 drop`,
    `    iifname ${up} oifname ${up} accept`,
    `    iifname ${up} ${o.egress ? 'accept' : 'drop'}`,
    `    oifname ${up} ct state established,related accept`,
    `    oifname ${up} drop`,
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    ...(o.egress ? [`    iifname ${up} oifname != ${up} masquerade`] : []),
    `  }`,
    `}`,
  ];
  return lines.join('\n') + '\n';
}
