// The names of the host objects of one cumulo server (see ../tag.ts): every one carries the tag, so
// servers with different homes never collide and a leak check finds a server's leftovers by name.
//
//   cu-<tag>-<i8>                 an instance's network namespace (last 8 hex digits of its id)
//   cu-<tag>-vpc-<17hex>          a VPC's network namespace (the "VPC router")
//   cv<tag><vpc8>                 a VPC's uplink, host end (its peer is up0 in the VPC namespace)
//   e<eni14>                      an interface's veth end inside the VPC namespace (eth<n> inside the instance)
//   inet cumulo_<tag>             the host's nftables table
//   host routing table            0x80000000 | tag << 15 | the uplink address's index in 169.254.128.0/17

const INSTANCE_ID = /^i-([0-9a-f]{8,17})$/;
const VPC_ID = /^vpc-([0-9a-f]{8,17})$/;
const ENI_ID = /^eni-([0-9a-f]{8,17})$/;
const TAG = /^[0-9a-f]{4}$/;

/** The last 8 hex digits of an instance id: enough to tell a host's instances apart. */
export function shortId(instanceId: string): string {
  const m = INSTANCE_ID.exec(instanceId);
  if (!m) throw new Error(`not an instance id: ${instanceId}`);
  return m[1]!.slice(-8);
}

export function checkVpcId(vpcId: string): string {
  if (!VPC_ID.test(vpcId)) throw new Error(`not a VPC id: ${vpcId}`);
  return vpcId;
}

export interface NetNames {
  /** The named network namespace: /run/netns/<netns>. */
  netns: string;
  /** Before the VPC data plane: the host end of the instance's veth. No such link exists any more (kept for the metrics reader). */
  veth: string;
}

export function netNames(tag: string, instanceId: string): NetNames {
  const id8 = shortId(instanceId);
  return { netns: `${netnsPrefix(tag)}${id8}`, veth: `${vethPrefix(tag)}${id8}` };
}

/** An instance's network namespace. */
export const instanceNetns = (tag: string, instanceId: string) => `${netnsPrefix(tag)}${shortId(instanceId)}`;

/** A VPC's network namespace: cu-<tag>-vpc-<17hex>. */
export const vpcNetns = (tag: string, vpcId: string) => `${netnsPrefix(tag)}${checkVpcId(vpcId)}`;

/** The VPC id of one of this server's VPC namespaces (undefined for an instance's). */
export function vpcOfNetns(tag: string, netns: string): string | undefined {
  const rest = netns.startsWith(netnsPrefix(tag)) ? netns.slice(netnsPrefix(tag).length) : '';
  return VPC_ID.test(rest) ? rest : undefined;
}

/** The host end of a VPC's uplink (IFNAMSIZ: at most 15 characters). */
export function uplinkName(tag: string, vpcId: string): string {
  return `${uplinkPrefix(tag)}${checkVpcId(vpcId).slice(-8)}`;
}

/** An interface's veth end inside its VPC's namespace: e + the last 14 hex digits of its id. */
export function eniLink(eniId: string): string {
  const m = ENI_ID.exec(eniId);
  if (!m) throw new Error(`not a network interface id: ${eniId}`);
  return `e${m[1]!.slice(-14)}`;
}

export const netnsPrefix = (tag: string) => `cu-${tag}-`;
export const vpcNetnsPrefix = (tag: string) => `cu-${tag}-vpc-`;
/** Before the VPC data plane, instances had host veths with this prefix (the leak check still looks). */
export const vethPrefix = (tag: string) => `cu${tag}`;
export const uplinkPrefix = (tag: string) => `cv${tag}`;
export const tableName = (tag: string) => `cumulo_${tag}`;
export const netnsPath = (netns: string) => `/run/netns/${netns}`;

/** The uplink host-end addresses come from 169.254.128.0/17: 32768 of them, index 1 … 32766. */
export const UPLINK_BLOCK_BASE = 169 * 2 ** 24 + 254 * 2 ** 16 + 128 * 2 ** 8; // 169.254.128.0
export const UPLINK_BLOCK_SIZE = 1 << 15;

/**
 * The host routing table of a VPC's uplink (replies of the metadata service and the resolver go
 * back up the uplink they came from): the tag and the uplink address's index, so that a table
 * number is unique on the host and says whose it is.
 */
export function hostTableId(tag: string, index: number): number {
  if (!TAG.test(tag)) throw new Error(`bad host tag: ${tag}`);
  if (!Number.isInteger(index) || index < 1 || index >= UPLINK_BLOCK_SIZE - 1) throw new Error(`bad uplink address index: ${index}`);
  return (0x80000000 | (parseInt(tag, 16) << 15) | index) >>> 0;
}

/** The tag a host routing table belongs to (undefined: not a cumulo table). */
export function tagOfTable(table: number): string | undefined {
  if (!Number.isInteger(table) || table < 0x80000000 || table > 0xffffffff) return undefined;
  return ((table >>> 15) & 0xffff).toString(16).padStart(4, '0');
}
