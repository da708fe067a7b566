// The seam between the control plane and whatever runs instances on a host.
// A driver is small: it runs one instance's lifecycle and reports what it sees. Controllers decide.

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
  /** Ephemeral instance-store disks of the instance type (empty for EBS-only types). */
  instanceStore?: { count: number; sizeGiB: number; type: 'ssd' | 'hdd' }[];
  /** IMDSv2 PUT response hop limit (ModifyInstanceMetadataOptions). */
  metadataHopLimit?: number;
}

export interface ImageSource {
  builtin: string; // 'minimal' | 'debian'
  version: string;
  sshUser: string;
}

export type ObservedState = 'running' | 'stopped' | 'missing';

export interface Observed {
  state: ObservedState;
  /** Set when the instance stopped by itself (e.g. `poweroff` inside it). */
  exitedAt?: Date;
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

/** Applies ModifyInstanceMetadataOptions to a running instance (the hop limit is enforced on the host). */
export interface MetadataOptionsUpdate {
  updateMetadataOptions(spec: InstanceSpec): Promise<void>;
}

/** Removes an EBS volume's data from the host (a terminated instance's DeleteOnTermination volumes). */
export interface VolumeDeletion {
  deleteVolume(volumeId: string): Promise<void>;
}

export function hasAbility<T extends object>(driver: InstanceDriver, method: keyof T & string): driver is InstanceDriver & T {
  return typeof (driver as unknown as Record<string, unknown>)[method] === 'function';
}
