// The OCI runtime config (config.json) of one instance, built by a pure function (table-tested in
// oci.test.ts). An instance is a whole machine, not an app: the image's init is PID 1 as root, with
// the capabilities a machine's root needs and nothing that reaches past its namespaces.

import { seccompProfile } from './seccomp.js';
import { idMappings } from './userns.js';
import { lxcfsMounts } from './lxcfs.js';

export interface OciInput {
  instanceId: string;
  /** EC2's private DNS name: the instance's hostname. */
  hostname: string;
  /** The mounted root volume (absolute). */
  rootfs: string;
  /** The instance's network namespace (/run/netns/…), owned by its user namespace. */
  netnsPath: string;
  /** The instance's user namespace (a held nsfs file) and the first host id of its range. */
  userns: { path: string; base: number };
  /** The instance's /dev: a tmpfs the host mounted and filled (userns.ts ensureDev). */
  devDir: string;
  /** LXCFS's mount point: its proc files are bound over the instance's (its own memory, uptime, CPUs). */
  lxcfs?: string;
  /** The API's CA certificate (a host file the instance's root can read), bound read-only at CA_PATH. */
  ca?: string;
  /** Host CPUs it may use (cpuset), when it has fewer vCPUs than the host has cores. */
  cpus?: string;
  vcpus: number;
  memoryMiB: number;
  /** Absolute cgroup path: /cumulo_<tag>/<instance id>. */
  cgroupsPath: string;
  /** The mounted instance-store filesystem, bound at /mnt (EC2's ephemeral0 mount point). */
  instanceStore?: string;
  /** PID 1; the image's init. */
  init?: string[];
  /** Hard limit of open files: at most what the host's runc may grant (it cannot raise its own). */
  nofileHard?: number;
  /** EBS data volumes: block devices (loop devices on the host) made in the instance's /dev. */
  volumes?: OciVolume[];
}

/** An attached EBS volume as the container sees it: a block device node, allowed, throttled. */
export interface OciVolume {
  /** The device name in the instance: /dev/sdf, /dev/xvdf, … */
  path: string;
  major: number;
  minor: number;
  iops?: number;
  /** Bytes per second, read and write each. */
  bps?: number;
}

/** /dev/sdf, /dev/xvdba, /dev/nvme1n1: a single name right under /dev. */
/** Where an instance finds the API's CA: the guest init adds it to the system's trust store (guest/README.md). */
export const CA_PATH = '/usr/lib/cumulo/ca.pem';

/** Every /proc/sys subtree but net/ (the instance's own network namespace's settings). */
export const PROC_SYS_READONLY = ['abi', 'crypto', 'debug', 'dev', 'fs', 'fscache', 'kernel', 'sunrpc', 'user', 'vm'].map((d) => `/proc/sys/${d}`);

export function checkDevicePath(path: string): void {
  if (!/^\/dev\/[a-z][a-z0-9]{1,31}$/.test(path)) throw new Error(`invalid device name ${JSON.stringify(path)}`);
}

/**
 * The parts of config.json that carry the volumes: their cgroup allowances and throttles. Their
 * nodes are not runc's to make: in a user namespace runc could only bind the host's node of the
 * same name, so the host makes them in the instance's /dev (ensureDev), live or before a boot.
 */
export function volumeParts(volumes: OciVolume[]): {
  allow: Record<string, unknown>[];
  blockIO?: Record<string, unknown>;
} {
  for (const v of volumes) checkDevicePath(v.path);
  const allow = volumes.map((v) => ({ allow: true, type: 'b', major: v.major, minor: v.minor, access: 'rw' }));
  const rate = (pick: (v: OciVolume) => number | undefined) =>
    volumes.filter((v) => (pick(v) ?? 0) > 0).map((v) => ({ major: v.major, minor: v.minor, rate: Math.floor(pick(v)!) }));
  const blockIO = {
    throttleReadBpsDevice: rate((v) => v.bps),
    throttleWriteBpsDevice: rate((v) => v.bps),
    throttleReadIOPSDevice: rate((v) => v.iops),
    throttleWriteIOPSDevice: rate((v) => v.iops),
  };
  return { allow, blockIO: Object.values(blockIO).some((l) => l.length) ? blockIO : undefined };
}

/**
 * A config with its volumes replaced by `volumes` (a live attach, detach or limit change, so that
 * the next boot in place — a reboot inside — has the same devices). The character devices stay.
 */
export function withVolumes(config: Record<string, unknown>, volumes: OciVolume[]): Record<string, unknown> {
  const linux = { ...(config.linux as Record<string, unknown>) };
  const resources = { ...(linux.resources as Record<string, unknown>) };
  const parts = volumeParts(volumes);
  const keep = ((resources.devices as Record<string, unknown>[] | undefined) ?? []).filter((d) => d.type !== 'b');
  resources.devices = [...keep, ...parts.allow];
  if (parts.blockIO) resources.blockIO = parts.blockIO;
  else delete resources.blockIO;
  linux.resources = resources;
  delete linux.devices;
  return { ...config, linux };
}

/**
 * Docker's default capability set, less what a user namespace makes useless: CAP_MKNOD (the kernel
 * refuses device nodes to any namespace but the host's; fifos need no capability) and
 * CAP_AUDIT_WRITE (the kernel answers audit messages from any user namespace but the host's with
 * ECONNREFUSED, capability or not, which sudo and sshd take as "no audit daemon").
 */
const DOCKER_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
];

/**
 * What a machine's root needs beyond that. Every capability is the instance's user namespace's,
 * so it reaches only namespaces that namespace owns (its network, UTS, IPC, PID and mount ones):
 * - CAP_NET_ADMIN: `ip addr`, routes, iptables in its own network namespace; the VPC's router
 *   still refuses forged source addresses.
 * - CAP_SYS_BOOT: `reboot` and `poweroff`. In a child PID namespace reboot(2) only kills the
 *   namespace's init (the kernel's reboot_pid_ns); kexec is refused by seccomp and needs the host's
 *   CAP_SYS_BOOT anyway.
 * Left out on purpose: CAP_SYS_ADMIN (mounts of user-namespace filesystems, new namespaces: more
 * kernel surface than a machine's root needs here), CAP_SYS_MODULE, CAP_SYS_PTRACE,
 * CAP_DAC_READ_SEARCH, CAP_SYS_RAWIO, CAP_SYS_TIME. So `mount` inside fails; the host mounts what
 * an instance has (root, instance store at /mnt) before it boots.
 */
export const INSTANCE_CAPS = [...DOCKER_CAPS, 'CAP_NET_ADMIN', 'CAP_SYS_BOOT'];

/** Character devices an instance may use (runc's own defaults, written out so the config says it all). */
const ALLOWED_DEVICES: { type: 'c'; major: number; minor?: number }[] = [
  { type: 'c', major: 1, minor: 3 }, // null
  { type: 'c', major: 1, minor: 5 }, // zero
  { type: 'c', major: 1, minor: 7 }, // full
  { type: 'c', major: 1, minor: 8 }, // random
  { type: 'c', major: 1, minor: 9 }, // urandom
  { type: 'c', major: 5, minor: 0 }, // tty
  { type: 'c', major: 5, minor: 2 }, // ptmx
  { type: 'c', major: 136 }, // pts/*: sshd allocates terminals
];

/** Hard cap on tasks: a fork bomb stops here; a big instance gets room for its threads. */
export function pidsLimit(memoryMiB: number): number {
  return Math.max(4096, Math.floor(memoryMiB / 2));
}

export function ociConfig(input: OciInput): Record<string, unknown> {
  if (!Number.isInteger(input.vcpus) || input.vcpus < 1) throw new Error(`bad vCPU count: ${input.vcpus}`);
  if (!Number.isInteger(input.memoryMiB) || input.memoryMiB < 64) throw new Error(`bad memory size: ${input.memoryMiB} MiB`);
  if (!input.cgroupsPath.startsWith('/')) throw new Error(`cgroupsPath must be absolute: ${input.cgroupsPath}`);
  const memory = input.memoryMiB * 1024 * 1024;
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    // The host's tmpfs (ensureDev): runc makes no nodes when /dev is a bind, the host has made them.
    { destination: '/dev', type: 'bind', source: input.devDir, options: ['rbind', 'nosuid', 'noexec'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    // EC2's /dev/shm is half the memory; tmpfs pages count against the memory limit anyway.
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'mode=1777', `size=${Math.floor(input.memoryMiB / 2)}m`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  if (input.lxcfs) mounts.push(...lxcfsMounts(input.lxcfs));
  if (input.ca) mounts.push({ destination: CA_PATH, type: 'bind', source: input.ca, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  if (input.instanceStore) mounts.push({ destination: '/mnt', type: 'bind', source: input.instanceStore, options: ['rbind', 'rw', 'nosuid', 'nodev'] });
  const caps = [...INSTANCE_CAPS];
  const nofileHard = input.nofileHard ?? 524288;
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      // The guest's umask, not the server's (0077: src/state-folder.ts), as a Linux init starts with.
      user: { uid: 0, gid: 0, umask: 0o022 },
      args: input.init ?? ['/sbin/init'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'container=cumulo'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: Math.min(1024, nofileHard), hard: nofileHard }],
      // sudo and su are setuid: the instance's users must be able to gain privileges.
      noNewPrivileges: false,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    mounts,
    annotations: { 'cumulo.instance-id': input.instanceId },
    linux: {
      // Absolute, so every hierarchy puts the instance at the same place whatever cgroup the server runs in.
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }, ...ALLOWED_DEVICES.map((d) => ({ allow: true, access: 'rwm', ...d }))],
        cpu: { period: 100000, quota: input.vcpus * 100000, shares: 1024 * input.vcpus, ...(input.cpus ? { cpus: input.cpus } : {}) },
        // swap = limit: no swap beyond memory, as an EC2 instance has none.
        memory: { limit: memory, swap: memory },
        pids: { limit: pidsLimit(input.memoryMiB) },
      },
      // Its own user namespace first (made by the host with its network namespace: userns.ts), so
      // every namespace runc makes is owned by it. runc 1.1 cannot idmap mounts: the root volume's
      // owners are shifted into the range instead. The mappings restate what the namespace has.
      namespaces: [
        { type: 'user', path: input.userns.path },
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
        { type: 'network', path: input.netnsPath },
      ],
      uidMappings: idMappings(input.userns.base),
      gidMappings: idMappings(input.userns.base),
      // An allow-list derived from the capability set, as container engines derive theirs.
      seccomp: seccompProfile(caps),
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      // /proc/sys read-only but for net/: those settings are the instance's own network namespace's
      // (owned by its user namespace, so the kernel lets it change only its own), as a NAT instance
      // turns on ip_forward. Paths the kernel lacks are skipped by runc.
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', ...PROC_SYS_READONLY, '/proc/sysrq-trigger'],
    },
  };
  return input.volumes?.length ? withVolumes(config, input.volumes) : config;
}

/**
 * The host CPUs an instance may run on when it has fewer vCPUs than the host has cores (so `nproc`
 * inside tells its own count): `vcpus` consecutive CPUs from an offset picked by its id, which
 * spreads instances over the cores. The CFS quota still bounds its time either way.
 */
export function cpuSet(instanceId: string, vcpus: number, hostCpus: number): string | undefined {
  if (vcpus >= hostCpus || hostCpus < 2) return undefined;
  let h = 0;
  for (const c of instanceId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const start = h % hostCpus;
  const cpus = Array.from({ length: vcpus }, (_, i) => (start + i) % hostCpus).sort((a, b) => a - b);
  return cpus.join(',');
}
