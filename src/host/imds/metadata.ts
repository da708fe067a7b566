// What an instance sees at http://169.254.169.254: the metadata tree built from one instance's
// facts, and paths resolved against it as EC2 answers them. Pure: the server (server.ts) does HTTP
// and tokens, the lookup (lookup.ts) reads the store.
//
// EC2's formats, quoted from the wire:
//   GET /latest/meta-data/          "ami-id\nami-launch-index\n…\nplacement/\n…"  (one entry a line,
//                                   folders with a trailing '/', no final newline)
//   GET /latest/meta-data/public-keys/          "0=my-key"
//   GET /latest/dynamic/instance-identity/document   Jackson's pretty JSON: `"accountId" : "…",`
//   404                             an XHTML page, "404 - Not Found"

export interface InstanceMetadata {
  accountId: string;
  instanceId: string;
  imageId: string;
  instanceType: string;
  architecture: string;
  region: string;
  availabilityZone: string;
  availabilityZoneId: string;
  reservationId: string;
  amiLaunchIndex: number;
  /** When the instance last entered pending (launch or start). */
  pendingTime: Date;
  /** ip-172-31-0-11.ec2.internal */
  hostname: string;
  privateIp: string;
  publicIp?: string;
  publicHostname?: string;
  mac: string;
  securityGroups: { id: string; name: string }[];
  /** The key pair given at launch: public-keys/0. */
  key?: { name: string; openssh: string };
  userData?: Buffer;
  /** block-device-mapping/: device names as the instance has them (ami and root: /dev/xvda; others: sdf, sdb). */
  blockDevices: { ami: string; root: string; ebs: string[]; ephemeral: string[] };
  interfaces: InterfaceMetadata[];
  /** Instance tags, present only when InstanceMetadataTags is enabled. */
  tags?: Record<string, string>;
  /** `role`: its role's credentials, read only for paths under iam/ (absent: not read, or no role). */
  iamInstanceProfile?: { arn: string; id: string; lastUpdated: Date; role?: RoleCredentials };
  options: MetadataOptions;
}

/** An instance profile's role credentials, or why EC2 could not assume the role. */
export type RoleCredentials =
  | {
      code: 'Success';
      roleName: string;
      lastUpdated: Date;
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken: string;
      expiration: Date;
    }
  | { code: 'AssumeRoleUnauthorizedAccess'; roleName: string; lastUpdated: Date };

export interface InterfaceMetadata {
  mac: string;
  deviceNumber: number;
  interfaceId?: string;
  ownerId: string;
  hostname: string;
  privateIps: string[];
  publicIp?: string;
  publicHostname?: string;
  subnetId: string;
  subnetCidr: string;
  vpcId: string;
  vpcCidrs: string[];
  securityGroups: { id: string; name: string }[];
}

export interface MetadataOptions {
  httpTokens: 'optional' | 'required';
  httpEndpoint: 'enabled' | 'disabled';
  hopLimit: number;
}

// ---------------------------------------------------------------------------------------------
// The tree

type Leaf = string | Buffer;
/** A folder: its entries, and optionally the listing EC2 shows for it instead of the entry names. */
export interface Folder {
  entries: Record<string, Node>;
  listing?: string[];
}
export type Node = Leaf | Folder;

const isFolder = (n: Node): n is Folder => typeof n === 'object' && !Buffer.isBuffer(n);

function folder(entries: Record<string, Node | undefined>, listing?: string[]): Folder {
  const clean: Record<string, Node> = {};
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) clean[k] = v;
  return listing ? { entries: clean, listing } : { entries: clean };
}

/** The versions at `/`, oldest first, as EC2 lists them (each serves today's tree here). */
export const VERSIONS = [
  '1.0',
  '2007-01-19',
  '2007-03-01',
  '2007-08-29',
  '2007-10-10',
  '2007-12-15',
  '2008-02-01',
  '2008-09-01',
  '2009-04-04',
  '2011-01-01',
  '2011-05-01',
  '2012-01-12',
  '2014-02-25',
  '2014-11-05',
  '2015-10-20',
  '2016-04-19',
  '2016-06-30',
  '2016-09-02',
  '2018-03-28',
  '2018-08-17',
  '2018-09-24',
  '2019-10-01',
  '2020-10-27',
  '2021-01-03',
  '2021-03-23',
  '2021-07-15',
  '2022-09-24',
  '2024-04-11',
  'latest',
];

/** EC2's times: second precision, Z (2023-12-04T10:04:05Z). */
export function ec2Time(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Jackson's default pretty printer, which EC2's JSON documents come from: `"key" : value`, two-space indent. */
export function jacksonJson(obj: Record<string, string | number | boolean | null>): string {
  const lines = Object.entries(obj).map(([k, v]) => `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

export function identityDocument(m: InstanceMetadata): string {
  return jacksonJson({
    accountId: m.accountId,
    architecture: m.architecture,
    availabilityZone: m.availabilityZone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: m.imageId,
    instanceId: m.instanceId,
    instanceType: m.instanceType,
    kernelId: null,
    pendingTime: ec2Time(m.pendingTime),
    privateIp: m.privateIp,
    ramdiskId: null,
    region: m.region,
    version: '2017-09-30',
  });
}

function interfaceFolder(i: InterfaceMetadata): Folder {
  return folder({
    'device-number': String(i.deviceNumber),
    'interface-id': i.interfaceId,
    'ipv4-associations': i.publicIp ? folder({ [i.publicIp]: i.privateIps[0]! }) : undefined,
    'local-hostname': i.hostname,
    'local-ipv4s': i.privateIps.join('\n'),
    mac: i.mac,
    'owner-id': i.ownerId,
    'public-hostname': i.publicHostname,
    'public-ipv4s': i.publicIp,
    'security-group-ids': i.securityGroups.map((g) => g.id).join('\n'),
    'security-groups': i.securityGroups.map((g) => g.name).join('\n'),
    'subnet-id': i.subnetId,
    'subnet-ipv4-cidr-block': i.subnetCidr,
    'vpc-id': i.vpcId,
    'vpc-ipv4-cidr-block': i.vpcCidrs[0],
    'vpc-ipv4-cidr-blocks': i.vpcCidrs.join('\n'),
  });
}

/** Does a request path read the role's credentials (anything under meta-data/iam)? */
export function readsCredentials(path: string): boolean {
  return /^\/*[^/]+\/+meta-data\/+iam(\/|$)/.test(path);
}

const unauthorizedMessage = (role: string) =>
  `EC2 cannot assume the role ${role}.  Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.`;

/** iam/security-credentials/<role>, as EC2 writes it. */
export function credentialsDocument(c: RoleCredentials): string {
  if (c.code !== 'Success') return jacksonJson({ Code: c.code, Message: unauthorizedMessage(c.roleName), LastUpdated: ec2Time(c.lastUpdated) });
  return jacksonJson({
    Code: 'Success',
    LastUpdated: ec2Time(c.lastUpdated),
    Type: 'AWS-HMAC',
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    Expiration: ec2Time(c.expiration),
  });
}

/** iam/: info always; security-credentials/<role> when the profile has a role. */
function iamFolder(p: NonNullable<InstanceMetadata['iamInstanceProfile']>): Folder {
  const role = p.role;
  const head: Record<string, string> = role?.code === 'AssumeRoleUnauthorizedAccess' ? { Code: role.code, Message: unauthorizedMessage(role.roleName) } : { Code: 'Success' };
  const info = jacksonJson({
    ...head,
    LastUpdated: ec2Time(role?.lastUpdated ?? p.lastUpdated),
    InstanceProfileArn: p.arn,
    InstanceProfileId: p.id,
  });
  return folder({ info, 'security-credentials': role ? folder({ [role.roleName]: credentialsDocument(role) }) : undefined });
}

function blockDeviceFolder(b: InstanceMetadata['blockDevices']): Folder {
  const entries: Record<string, Node> = { ami: b.ami };
  b.ebs.forEach((d, i) => (entries[`ebs${i + 1}`] = d));
  b.ephemeral.forEach((d, i) => (entries[`ephemeral${i}`] = d));
  entries.root = b.root;
  return folder(entries);
}

function tagsFolder(tags: Record<string, string>): Folder {
  // EC2 leaves out keys it cannot put in a path (instance tags in metadata may not contain '/').
  const entries: Record<string, Node> = {};
  for (const [k, v] of Object.entries(tags)) if (!k.includes('/') && k !== '.' && k !== '..') entries[k] = v;
  return folder({ instance: folder(entries) });
}

export function metadataTree(m: InstanceMetadata): Folder {
  const metaData = folder({
    'ami-id': m.imageId,
    'ami-launch-index': String(m.amiLaunchIndex),
    'ami-manifest-path': '(unknown)',
    'block-device-mapping': blockDeviceFolder(m.blockDevices),
    events: folder({ maintenance: folder({ history: '[]', scheduled: '[]' }) }),
    hostname: m.hostname,
    iam: m.iamInstanceProfile ? iamFolder(m.iamInstanceProfile) : undefined,
    'instance-action': 'none',
    'instance-id': m.instanceId,
    'instance-life-cycle': 'on-demand',
    'instance-type': m.instanceType,
    'local-hostname': m.hostname,
    'local-ipv4': m.privateIp,
    mac: m.mac,
    network: folder({ interfaces: folder({ macs: folder(Object.fromEntries(m.interfaces.map((i) => [i.mac, interfaceFolder(i)]))) }) }),
    placement: folder({
      'availability-zone': m.availabilityZone,
      'availability-zone-id': m.availabilityZoneId,
      region: m.region,
    }),
    profile: 'default-hvm',
    'public-hostname': m.publicHostname,
    'public-ipv4': m.publicIp,
    // The key's index, not its name, is the folder: "0=my-key" lists folder "0".
    'public-keys': m.key ? folder({ '0': folder({ 'openssh-key': opensshLine(m.key.openssh) }) }, [`0=${m.key.name}`]) : undefined,
    'reservation-id': m.reservationId,
    'security-groups': m.securityGroups.map((g) => g.name).join('\n'),
    services: folder({ domain: 'amazonaws.com', partition: 'aws' }),
    tags: m.tags ? tagsFolder(m.tags) : undefined,
  });
  const dynamic = folder({ 'instance-identity': folder({ document: identityDocument(m) }) });
  // The version's own listing is the one without trailing slashes: "dynamic\nmeta-data\nuser-data".
  const root = folder({ dynamic, 'meta-data': metaData, 'user-data': m.userData });
  return { ...root, listing: Object.keys(root.entries).sort() };
}

/** The key as EC2 hands it out: one line, newline-terminated. */
function opensshLine(key: string): string {
  const k = key.trim();
  return `${k}\n`;
}

export type Resolved = { status: 200; body: Buffer | string; contentType: string } | { status: 404 };

function listing(f: Folder): string {
  return (
    f.listing ??
    Object.keys(f.entries)
      .sort()
      .map((k) => (isFolder(f.entries[k]!) ? `${k}/` : k))
  ).join('\n');
}

/**
 * Resolve a request path ('/latest/meta-data/placement/region') for an instance. `/` lists the
 * versions; every version serves the same tree. A folder answers with its listing with or without
 * the trailing slash, as EC2 does.
 */
export function resolvePath(m: InstanceMetadata, path: string): Resolved {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0) return { status: 200, body: VERSIONS.join('\n'), contentType: 'text/plain' };
  if (!VERSIONS.includes(parts[0]!)) return { status: 404 };
  let node: Node = metadataTree(m);
  for (const raw of parts.slice(1)) {
    if (!isFolder(node)) return { status: 404 };
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return { status: 404 };
    }
    const next: Node | undefined = Object.hasOwn(node.entries, name) ? node.entries[name] : undefined;
    if (next === undefined) return { status: 404 };
    node = next;
  }
  if (isFolder(node)) return { status: 200, body: listing(node), contentType: 'text/plain' };
  return { status: 200, body: node, contentType: Buffer.isBuffer(node) ? 'application/octet-stream' : 'text/plain' };
}

/** EC2's error pages, e.g. `errorPage(404, 'Not Found')`. */
export function errorPage(status: number, text: string): string {
  return [
    '<?xml version="1.0" encoding="iso-8859-1"?>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"',
    '         "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
    ' <head>',
    `  <title>${status} - ${text}</title>`,
    ' </head>',
    ' <body>',
    `  <h1>${status} - ${text}</h1>`,
    ' </body>',
    '</html>',
    '',
  ].join('\n');
}
