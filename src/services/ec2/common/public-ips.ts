// Public IPv4 addresses: one ledger (public_ips) of every address taken from the pool
// (config.publicPool), elastic (AllocateAddress) or ephemeral (given to an instance's interface at
// launch and start, released at stop and terminate). The host routes each address to one VPC, so an
// address is unique across accounts and regions: the ledger's primary key is the address alone.
//
// The pool's first address is the host itself ("the internet" as instances see it); its network
// and broadcast addresses are never handed out. The lowest free address is taken: deterministic.
import type { NetworkInterfaceAssociation } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import type { Config } from '../../../config.js';
import { formatIp, ipInCidr, parseCidrLoose, parseIp, size, type Cidr } from '../../../lib/cidr.js';
import { publicDnsName } from '../../../lib/ec2-names.js';
import type { Tx } from '../../../store/db.js';
import {
  allPublicIps,
  associationRowsOf,
  deleteEphemeralIpsOf,
  deletePublicIp,
  insertPublicIp,
  isPublicIpTaken,
  mappedPrivateIps,
  poolCursor,
  publicIpRowsOfInterfaces,
  publicIpsMappedTo,
  setPoolCursor,
  strayPublicIps,
  unmapElasticIpsOf,
  unmapPublicIp,
} from '../addresses/store.js';
import { instanceLifecycle, setInstancePublicIp } from '../instances/store.js';
import { interfacePrimary, interfacesForPublicIps, interfacesOfInstance, setInterfacePublicIp } from '../network-interfaces/store.js';

export type PublicIpKind = 'elastic' | 'ephemeral';

/** The addresses of the pool that may be handed out: [first, last] as integers, and the host's. */
export function poolRange(pool: string): { block: Cidr; host: string; first: bigint; last: bigint } {
  const block = parseCidrLoose(pool);
  if (!block || block.family !== 4) throw new Error(`CUMULO_PUBLIC_IPV4_POOL is not an IPv4 CIDR block: ${pool}`);
  const n = size(block);
  // network + 0 is the network address, + 1 the host, the last one the broadcast address.
  return { block, host: formatIp(4, block.network + 1n), first: block.network + 2n, last: block.network + n - 2n };
}

/**
 * EC2's answer when the pool has no address left, to AllocateAddress and to a launch or start that
 * wants a public IP alike: a server error, since capacity, not the request, is what is missing. (An
 * account at its own elastic-ips quota gets AddressLimitExceeded instead: see ../quotas.)
 */
export function poolExhausted(): ApiError {
  return Errors.insufficientAddressCapacity();
}

async function usedAddresses(db: Tx, block: Cidr): Promise<Set<string>> {
  return new Set((await allPublicIps(db)).filter((ip) => ipInCidr(ip, block)));
}

interface AllocateOptions {
  accountId: string;
  region: string;
  kind: PublicIpKind;
  networkInterfaceId?: string;
  privateIp?: string;
  allocationId?: string;
  associationId?: string;
}

/**
 * Hands out addresses of one pool within one transaction, reading the ledger once: a launch of many
 * instances takes many addresses without re-reading it for each.
 */
class PoolAllocator {
  private used?: Set<string>;
  private next?: bigint;
  private readonly range: ReturnType<typeof poolRange>;

  constructor(
    private readonly db: Tx,
    private readonly pool: string,
    private readonly now = new Date().toISOString(),
  ) {
    this.range = poolRange(pool);
  }

  /** The pool's cursor: allocation goes round the pool (a stopped and started instance gets a new address). */
  private async cursor(): Promise<bigint> {
    const cursor = await poolCursor(this.db, this.pool);
    const at = cursor !== undefined ? parseIp(cursor) : undefined;
    return at && at.family === 4 && at.value >= this.range.first && at.value <= this.range.last ? at.value : this.range.first;
  }

  async take(o: AllocateOptions): Promise<string> {
    this.used ??= await usedAddresses(this.db, this.range.block);
    this.next ??= await this.cursor();
    const size = this.range.last - this.range.first + 1n;
    let ip: string | undefined;
    for (let i = 0n; i < size; i++) {
      const v = this.next + i > this.range.last ? this.next + i - size : this.next + i;
      const candidate = formatIp(4, v);
      if (!this.used.has(candidate)) {
        ip = candidate;
        this.next = v === this.range.last ? this.range.first : v + 1n;
        break;
      }
    }
    if (!ip) throw poolExhausted();
    this.used.add(ip);
    const next = formatIp(4, this.next);
    await setPoolCursor(this.db, this.pool, next);
    await insertPublicIp(this.db, {
      public_ip: ip,
      kind: o.kind,
      account_id: o.accountId,
      region: o.region,
      allocation_id: o.kind === 'elastic' ? (o.allocationId ?? null) : null,
      association_id: o.associationId ?? null,
      network_interface_id: o.networkInterfaceId ?? null,
      private_ip: o.privateIp ?? null,
      network_border_group: o.region,
      public_ipv4_pool: 'amazon',
      created_at: this.now,
    });
    return ip;
  }
}

/**
 * A free address of config.publicPool (never its network, broadcast, or first address = the host),
 * recorded in public_ips. Throws EC2's InsufficientAddressCapacity when the pool is exhausted.
 */
export async function allocatePublicIp(
  db: Tx,
  config: Config,
  o: { accountId: string; region: string; kind: PublicIpKind; networkInterfaceId?: string; privateIp?: string; allocationId?: string },
): Promise<string> {
  return new PoolAllocator(db, config.publicPool).take(o);
}

/**
 * Records a specific address of the pool (AllocateAddress with Address): undefined when it is not
 * one the pool hands out or someone holds it.
 */
export async function claimPublicIp(db: Tx, config: Config, ip: string, o: AllocateOptions): Promise<string | undefined> {
  const { first, last } = poolRange(config.publicPool);
  const parsed = parseIp(ip);
  if (!parsed || parsed.family !== 4 || parsed.value < first || parsed.value > last) return undefined;
  if (await isPublicIpTaken(db, ip)) return undefined;
  await insertPublicIp(db, {
    public_ip: ip,
    kind: o.kind,
    account_id: o.accountId,
    region: o.region,
    allocation_id: o.allocationId ?? null,
    association_id: null,
    network_interface_id: null,
    private_ip: null,
    network_border_group: o.region,
    public_ipv4_pool: 'amazon',
    created_at: new Date().toISOString(),
  });
  return ip;
}

/**
 * Give every interface of the instance with auto_public_ip=1 an ephemeral public IP for its primary
 * private IP, unless an elastic IP is associated with that private IP. Updates
 * network_interfaces.public_ip and instances.public_ip (primary interface). Idempotent.
 *
 * As on EC2, an instance with more than one attached interface gets no new public address.
 * `bestEffort`: an exhausted pool leaves the interface without one instead of failing the request.
 */
export async function assignEphemeralPublicIps(db: Tx, config: Config, instanceId: string, opts: { bestEffort?: boolean } = {}): Promise<void> {
  await assignMany(db, config, [instanceId], opts);
}

/** assignEphemeralPublicIps for many instances, reading the ledger once (RunInstances). */
export async function assignEphemeralPublicIpsMany(db: Tx, config: Config, instanceIds: string[], opts: { bestEffort?: boolean } = {}): Promise<void> {
  await assignMany(db, config, instanceIds, opts);
}

async function assignMany(db: Tx, config: Config, instanceIds: string[], opts: { bestEffort?: boolean }): Promise<void> {
  if (!instanceIds.length) return;
  const allocator = new PoolAllocator(db, config.publicPool);
  for (const part of chunks(instanceIds, 500)) {
    const enis = await interfacesForPublicIps(db, part);
    const byInstance = new Map<string, typeof enis>();
    for (const e of enis) {
      const list = byInstance.get(e.instance_id!) ?? [];
      list.push(e);
      byInstance.set(e.instance_id!, list);
    }
    // In the order asked (a reservation's launch order), so the first instance gets the lowest address.
    const order = new Map(part.map((id, i) => [id, i]));
    const wanting = enis
      .filter((e) => e.auto_public_ip === 1 && byInstance.get(e.instance_id!)!.length === 1)
      .sort((a, b) => order.get(a.instance_id!)! - order.get(b.instance_id!)!);
    const mapped = new Set<string>();
    if (wanting.length) {
      const rows = await mappedPrivateIps(
        db,
        wanting.map((e) => e.id),
      );
      for (const r of rows) mapped.add(`${r.network_interface_id}\u0000${r.private_ip}`);
    }
    for (const e of wanting) {
      if (mapped.has(`${e.id}\u0000${e.private_ip}`)) continue;
      try {
        await allocator.take({ accountId: e.account_id, region: e.region, kind: 'ephemeral', networkInterfaceId: e.id, privateIp: e.private_ip });
      } catch (err) {
        if (opts.bestEffort && err instanceof ApiError) continue;
        throw err;
      }
      await refreshPublicIpColumns(db, e.id);
    }
  }
}

/**
 * Release the ephemeral public IPs of the instance's interfaces (stop, terminate); elastic IPs
 * stay. Updates the public_ip columns.
 *
 * It also tidies what a terminate leaves behind, whichever runs first (this or the release of the
 * instance's interfaces): ephemeral addresses of the account's interfaces that are detached or
 * gone, and elastic associations of interfaces that are gone or about to go with the instance.
 */
export async function releaseEphemeralPublicIps(db: Tx, instanceId: string): Promise<void> {
  const instance = await instanceLifecycle(db, instanceId);
  const enis = await interfacesOfInstance(db, instanceId);
  const touched = new Set(enis.map((e) => e.id));
  await deleteEphemeralIpsOf(
    db,
    enis.map((e) => e.id),
  );
  if (instance) {
    const terminating = instance.state === 'terminated' || instance.state === 'shutting-down' || instance.desired_state === 'terminated';
    const going = terminating ? enis.filter((e) => e.delete_on_termination === 1).map((e) => e.id) : [];
    if (going.length) await disassociateElastic(db, going);
    // Leftovers of the account: ephemeral addresses need an attached interface, and every
    // address needs its interface to exist.
    const strays = await strayPublicIps(db, instance.account_id, instance.region);
    for (const s of strays) {
      if (s.kind === 'ephemeral') await deletePublicIp(db, s.public_ip);
      else await unmapPublicIp(db, s.public_ip);
      if (s.eni_id) touched.add(s.eni_id);
    }
  }
  for (const id of touched) await refreshPublicIpColumns(db, id);
  // With no interface left (terminated and released), the instance shows no public address.
  if (!enis.length) await setInstancePublicIp(db, instanceId, null);
}

async function disassociateElastic(db: Tx, eniIds: string[]): Promise<void> {
  await unmapElasticIpsOf(db, eniIds);
}

/** The NAT mappings of these interfaces (ephemeral and elastic), for the data plane. */
export async function publicIpsOfInterfaces(db: Tx, eniIds: string[]): Promise<Map<string, { publicIp: string; privateIp: string }[]>> {
  const out = new Map<string, { publicIp: string; privateIp: string }[]>();
  for (const part of chunks([...new Set(eniIds)], 500)) {
    if (!part.length) continue;
    const rows = await publicIpRowsOfInterfaces(db, part);
    for (const r of rows) {
      if (!r.private_ip) continue;
      let list = out.get(r.network_interface_id!);
      if (!list) out.set(r.network_interface_id!, (list = []));
      list.push({ publicIp: r.public_ip, privateIp: r.private_ip });
    }
  }
  return out;
}

/**
 * EC2's Association of each mapped private address of these interfaces (the shape of
 * NetworkInterface.Association and of PrivateIpAddresses[].Association), by interface id and then
 * private IP. IpOwnerId is 'amazon' for an ephemeral address and the account for an elastic one;
 * PublicDnsName is empty unless the interface's VPC has DNS hostnames enabled.
 */
export async function associationsOfInterfaces(db: Tx, eniIds: string[]): Promise<Map<string, Map<string, NetworkInterfaceAssociation>>> {
  const out = new Map<string, Map<string, NetworkInterfaceAssociation>>();
  for (const part of chunks([...new Set(eniIds)], 500)) {
    if (!part.length) continue;
    const rows = await associationRowsOf(db, part);
    for (const r of rows) {
      if (!r.private_ip) continue;
      let byIp = out.get(r.network_interface_id!);
      if (!byIp) out.set(r.network_interface_id!, (byIp = new Map()));
      const a: NetworkInterfaceAssociation = {
        IpOwnerId: r.kind === 'elastic' ? r.account_id : 'amazon',
        PublicDnsName: r.enable_dns_hostnames === 1 ? publicDnsName(r.public_ip, r.region) : '',
        PublicIp: r.public_ip,
      };
      if (r.kind === 'elastic') {
        a.AllocationId = r.allocation_id ?? undefined;
        a.AssociationId = r.association_id ?? undefined;
      }
      byIp.set(r.private_ip, a);
    }
  }
  return out;
}

/**
 * Recompute network_interfaces.public_ip (the address mapped to its primary private IP) and, for a
 * primary interface, instances.public_ip.
 */
export async function refreshPublicIpColumns(db: Tx, eniId: string): Promise<void> {
  const eni = await interfacePrimary(db, eniId);
  if (!eni) return;
  const mapped = await publicIpsMappedTo(db, eni.id, eni.private_ip);
  // Never two at once by construction; if so, the elastic one is what EC2 would show.
  const ip = (mapped.find((m) => m.kind === 'elastic') ?? mapped[0])?.public_ip ?? null;
  await setInterfacePublicIp(db, eni.id, ip);
  if (eni.instance_id && (eni.device_index ?? 0) === 0) await setInstancePublicIp(db, eni.instance_id, ip);
}

function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
