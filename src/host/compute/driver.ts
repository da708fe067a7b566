// The seam between the control plane and whatever runs instances on a host.
// A driver is small: it runs one instance's lifecycle and reports what it sees. Controllers decide.
import type { InterfaceSpec, VpcSpec } from '../network/vpc-spec.js';

export interface DriverInfo {
  name: string;
  description: string;
  /** 'container' (runc), 'vm' (qemu), 'none' (fake: nothing runs). */
  isolation: 'container' | 'vm' | 'none';
  /** Optional abilities, by name: 'reboot', 'console-output', 'metrics', 'instance-store', … */
  features: string[];
}

export interface InstanceSpec {
  instanceId: string;
  accountId: string;
  region: string;
  availabilityZone: string;
  imageId: string;
  instanceType: string;
  vcpus: number;
  memoryMiB: number;
  hostname: string;
  privateIp: string;
  macAddress: string;
  subnetCidr: string;
  /** The instance's VPC (the host network keeps VPCs apart). */
  vpcId?: string;
  /** User data as the user gave it, decoded from base64. */
  userData?: Buffer;
  /** OpenSSH public keys for the image's default user. */
  publicKeys: string[];
  /** What the image's bits are on the host: the images table's `source` ({"builtin": "minimal", …}). */
  imageSource?: ImageSource;
  /** The EBS root volume, made from the image's root snapshot. */
  rootVolume?: { volumeId: string; deviceName: string; sizeGiB: number };
  /**
   * The image's root snapshot in the region's block store, for images made by CreateImage,
   * RegisterImage or CopyImage (built-in images come from imageSource's artifact instead).
   */
  rootSnapshotId?: string;
  /**
   * The first host uid (and gid) of the instance's own range of 65,536: the runc driver runs it in a
   * user namespace mapping 0…65535 there, so its root is an unprivileged uid on the host.
   */
  uidBase?: number;
  /** EBS data volumes attached (device name as the instance sees it, e.g. /dev/sdf), with their limits. */
  volumes?: AttachedVolumeSpec[];
  /** Ephemeral instance-store disks of the instance type (empty for EBS-only types). */
  instanceStore?: { count: number; sizeGiB: number; type: 'ssd' | 'hdd' }[];
  /** IMDSv2 PUT response hop limit (ModifyInstanceMetadataOptions). */
  metadataHopLimit?: number;
  /** The instance's network interfaces, device index 0 (the primary) first. */
  interfaces?: InterfaceSpec[];
  /** The VPC's Amazon-provided resolver (its primary CIDR's base + 2), for the guest's resolv.conf. */
  dnsServer?: string;
  /** The DHCP options' domain name: ec2.internal in us-east-1, <region>.compute.internal elsewhere. */
  dnsDomain?: string;
}

export interface ImageSource {
  builtin: string; // 'minimal' | 'debian'
  version: string;
  sshUser: string;
}

/**
 * 'created': made on the host but its init never started (a server killed between `runc create`
 * and `runc start`): not running, and not stopped by anyone either; the controllers remove it and
 * boot it again.
 */
export type ObservedState = 'running' | 'created' | 'stopped' | 'missing';

export interface Observed {
  state: ObservedState;
  /** Set when the instance stopped by itself (e.g. `poweroff` inside it). */
  exitedAt?: Date;
  /**
   * Names the instance's current boot: it changes whenever its init is started again (a start, a
   * reboot, a reboot from inside). A reboot job records it before acting, so a job run again after
   * a crash knows whether the reboot happened. Undefined when the driver cannot tell.
   */
  bootId?: string;
}

export interface InstanceDriver {
  info(): DriverInfo;
  /** Prepare everything an instance needs to boot (root filesystem, config). Idempotent. */
  create(spec: InstanceSpec): Promise<void>;
  /** Boot it. Resolves once the instance's init is up. */
  start(instanceId: string): Promise<void>;
  /** Shut it down gracefully, forcibly after timeoutMs. Keeps its disks. */
  stop(instanceId: string, opts?: { force?: boolean; timeoutMs?: number }): Promise<void>;
  reboot(instanceId: string): Promise<void>;
  /** Remove everything create() made. Idempotent: deleting a missing instance succeeds. */
  delete(instanceId: string): Promise<void>;
  inspect(instanceId: string): Promise<Observed>;
  consoleOutput(instanceId: string): Promise<Buffer>;
  /** Instances this driver knows on this host, for adoption after a restart. */
  list(): Promise<string[]>;
}

/**
 * A failure that retrying cannot mend (e.g. the snapshot a volume is made from is not in the block
 * store): the controller moves the resource to its failure state at once instead of retrying.
 */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
}

// Optional abilities: a driver implements the ones it has; callers check with hasAbility().

/** A driver with host state: set up before use, let go of at server stop. */
export interface HostLifecycle {
  init(): Promise<void>;
  /** With cleanup, every instance and host object goes too (tests); without, instances keep running for the next server. */
  close(opts?: { cleanup?: boolean }): Promise<void>;
}

/** Tells when an instance stopped by itself (`poweroff` inside), instead of waiting for the next poll. */
export interface ExitEvents {
  onExit(listener: (instanceId: string) => void): void;
}

/** Counters of a running instance, read on the host. */
export interface InstanceCounters {
  /** CPU time, all vCPUs together, in nanoseconds. */
  cpuNs: number;
  memoryBytes: number;
  /** Without the page cache: what the instance's processes hold. */
  memoryRssBytes: number;
  memoryLimitBytes: number;
  oomKills: number;
  pids: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  diskReadOps: number;
  diskWriteOps: number;
  /** As the instance sees it: In is what it received. */
  netInBytes: number;
  netOutBytes: number;
  netInPackets: number;
  netOutPackets: number;
}

export interface MetricsSource {
  /** Undefined when the instance is not running here. */
  metrics(instanceId: string): Promise<InstanceCounters | undefined>;
}

/**
 * One status check's outcome, as EC2 names a check detail's status: passed, failed, or
 * insufficient-data (the driver cannot tell). `reason` says what failed, for the server's log.
 */
export interface CheckOutcome {
  status: 'passed' | 'failed' | 'insufficient-data';
  reason?: string;
}

/**
 * EC2's two status checks of a running instance, observed on the host: the system check (what the
 * host owes the instance: the driver holds it and its network path is there) and the instance check
 * (the guest: its init alive, its primary interface up and answering). Cheap: run every poll.
 */
export interface StatusChecks {
  checkStatus(instanceId: string): Promise<{ system: CheckOutcome; instance: CheckOutcome }>;
  /** An EBS volume's backing on this host (its data there; when inUse, its block device too). */
  checkVolume(volumeId: string, opts: { inUse: boolean }): Promise<CheckOutcome>;
}

/** An EBS volume as the host makes it. */
export interface VolumeSpec {
  volumeId: string;
  accountId: string;
  region: string;
  sizeGiB: number;
  /** Made from this snapshot of the region's block store (lazy/copy-on-write); absent: empty. */
  snapshotId?: string;
  /** Encrypted at rest with the account's data key. */
  encrypted: boolean;
}

/** What the block I/O controller enforces for a volume (gp3: 3,000 IOPS and 125 MiB/s by default). */
export interface VolumeLimits {
  iops?: number;
  throughputMiBps?: number;
}

export interface AttachedVolumeSpec {
  volumeId: string;
  /** As given to AttachVolume or in the block device mapping: /dev/sdf, /dev/xvdf, … */
  device: string;
  limits: VolumeLimits;
}

export interface SnapshotResult {
  /** The volume's data (what the snapshot restores). */
  dataBytes: number;
  /** What this snapshot added to the store (incremental: only chunks no snapshot had). */
  addedBytes: number;
}

/**
 * EBS on a host: volumes that are real block devices, attached and detached live, grown live,
 * throttled by the block I/O controller; snapshots in a content-addressed, incremental store per
 * region. Every method is idempotent (the controllers retry after a crash).
 */
export interface BlockStorage {
  createVolume(spec: VolumeSpec): Promise<void>;
  /** Grow a volume (never shrink); live when it is attached: the instance sees the new size. */
  resizeVolume(volumeId: string, sizeGiB: number): Promise<void>;
  /** The device appears inside the running instance under `device` (within a second); on a stopped one at its next start. */
  attachVolume(instanceId: string, volume: AttachedVolumeSpec): Promise<void>;
  detachVolume(instanceId: string, volumeId: string, opts?: { force?: boolean }): Promise<void>;
  setVolumeLimits(instanceId: string, volumeId: string, limits: VolumeLimits): Promise<void>;
  /**
   * The snapshot's point in time: the volume as it is now (a mounted root frozen for that instant),
   * kept on the host under the snapshot's id until snapshotVolume has stored it. Called inside the
   * request (CreateSnapshot, CreateSnapshots, CreateImage); quick (a reflink clone).
   */
  captureVolume(o: { volumeId: string; snapshotId: string }): Promise<void>;
  /** Drop a snapshot's capture (the snapshot failed or went, or its request never committed). */
  discardCapture(snapshotId: string): Promise<void>;
  /** The snapshot ids whose capture the host holds. */
  captures(): Promise<string[]>;
  /**
   * Store the snapshot's capture in the region's store, building on `parentSnapshotId`, then drop
   * the capture. Without a capture (and the snapshot not stored yet) it fails: it never takes the
   * volume as it is later.
   */
  snapshotVolume(o: { volumeId: string; snapshotId: string; region: string; accountId: string; parentSnapshotId?: string; encrypted: boolean; onProgress?: (percent: number) => void }): Promise<SnapshotResult>;
  deleteSnapshot(region: string, snapshotId: string): Promise<void>;
  /** Copy a snapshot into another region's store, copying only the chunks that store lacks. */
  copySnapshot(o: { fromRegion: string; snapshotId: string; toRegion: string; newSnapshotId: string; accountId: string; onProgress?: (percent: number) => void }): Promise<{ bytesCopied: number }>;
}

/** Removes an EBS volume's data from the host (a terminated instance's DeleteOnTermination volumes). */
export interface VolumeDeletion {
  deleteVolume(volumeId: string): Promise<void>;
}

/**
 * A driver whose instances sit in a real VPC data plane (src/host/network). The vpc.sync controller
 * gives it each VPC's desired state whenever groups, rules, ACLs, routes, addresses or interfaces
 * change; a driver without it (fake) runs no network.
 */
export interface VpcNetworking {
  applyVpc(spec: VpcSpec): Promise<void>;
  removeVpc(vpcId: string): Promise<void>;
  /** VPCs with a data plane on this host (adoption: those with no instance up are removed). */
  vpcsPresent(): Promise<string[]>;
}

export function hasAbility<T extends object>(driver: InstanceDriver, method: keyof T & string): driver is InstanceDriver & T {
  return typeof (driver as unknown as Record<string, unknown>)[method] === 'function';
}
