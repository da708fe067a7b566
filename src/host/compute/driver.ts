// The seam between the control plane and whatever runs instances on a host.
// A driver is small: it runs one instance's lifecycle and reports what it sees. Controllers decide.
import type { InterfaceSpec } from '../network/vpc-spec.js';
import type { HostPart, PartInfo } from '../part.js';

export { PermanentFailure } from '../part.js';

export interface DriverInfo extends PartInfo {
  /** 'container' (runc), 'vm' (qemu), 'none' (fake: nothing runs). */
  isolation: 'container' | 'vm' | 'none';
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

export interface InstanceDriver extends HostPart {
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
  /**
   * EC2's two status checks of a running instance, observed on the host: the system check (what
   * the host owes the instance: the driver holds it and its network path is there) and the
   * instance check (the guest: its init alive, its primary interface up and answering). Cheap: run
   * every poll.
   */
  checkStatus(instanceId: string): Promise<{ system: CheckOutcome; instance: CheckOutcome }>;
  /** The volume appears inside the running instance under `device` (within a second); on a stopped one at its next start. */
  attachVolume(instanceId: string, volume: AttachedVolumeSpec): Promise<void>;
  /** Idempotent: a volume (or an instance) the driver no longer has is detached already. */
  detachVolume(instanceId: string, volumeId: string, opts?: { force?: boolean }): Promise<void>;
  setVolumeLimits(instanceId: string, volumeId: string, limits: VolumeLimits): Promise<void>;
}

// Optional abilities: a separate interface each, found once where the host stack is assembled.

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
