// The OCI runtime config (config.json) of one instance, built by a pure function (table-tested in
// oci.test.ts). An instance is a whole machine, not an app: the image's init is PID 1 as root, with
// the capabilities a machine's root needs and nothing that reaches past its namespaces.

export interface OciInput {
  instanceId: string;
  /** EC2's private DNS name: the instance's hostname. */
  hostname: string;
  /** The mounted root volume (absolute). */
  rootfs: string;
  /** The instance's network namespace (/run/netns/…). */
  netnsPath: string;
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
export function checkDevicePath(path: string): void {
  if (!/^\/dev\/[a-z][a-z0-9]{1,31}$/.test(path)) throw new Error(`invalid device name ${JSON.stringify(path)}`);
}

/** The parts of config.json that carry the volumes: device nodes, their cgroup allowances, their throttles. */
export function volumeParts(volumes: OciVolume[]): {
  devices: Record<string, unknown>[];
  allow: Record<string, unknown>[];
  blockIO?: Record<string, unknown>;
} {
  for (const v of volumes) checkDevicePath(v.path);
  const devices = volumes.map((v) => ({ path: v.path, type: 'b', major: v.major, minor: v.minor, fileMode: 0o660, uid: 0, gid: 0 }));
  const allow = volumes.map((v) => ({ allow: true, type: 'b', major: v.major, minor: v.minor, access: 'rw' }));
  const rate = (pick: (v: OciVolume) => number | undefined) =>
    volumes.filter((v) => (pick(v) ?? 0) > 0).map((v) => ({ major: v.major, minor: v.minor, rate: Math.floor(pick(v)!) }));
  const blockIO = {
    throttleReadBpsDevice: rate((v) => v.bps),
    throttleWriteBpsDevice: rate((v) => v.bps),
    throttleReadIOPSDevice: rate((v) => v.iops),
    throttleWriteIOPSDevice: rate((v) => v.iops),
  };
  return { devices, allow, blockIO: Object.values(blockIO).some((l) => l.length) ? blockIO : undefined };
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
  if (parts.devices.length) linux.devices = parts.devices;
  else delete linux.devices;
  return { ...config, linux };
}

/** Docker's default capability set: what a container's root keeps. */
const DOCKER_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/**
 * What a machine's root needs beyond that:
 * - CAP_NET_ADMIN: `ip addr`, routes, iptables — all confined to the instance's own network
 *   namespace; the host side's strict rp_filter still refuses forged source addresses.
 * - CAP_SYS_BOOT: `reboot` and `poweroff`. In a child PID namespace reboot(2) only kills the
 *   namespace's init (the kernel's reboot_pid_ns); kexec, the one other use, is refused by seccomp.
 * Left out on purpose: CAP_SYS_ADMIN (without a user namespace it is host root: cgroup
 * release_agent, mounts of host devices), CAP_SYS_MODULE, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH
 * (open_by_handle_at escapes), CAP_SYS_RAWIO, CAP_SYS_TIME. So `mount` of new filesystems inside
 * fails; the host mounts what an instance has (root, instance store at /mnt) before it boots.
 */
export const INSTANCE_CAPS = [...DOCKER_CAPS, 'CAP_NET_ADMIN', 'CAP_SYS_BOOT'];

/**
 * Syscalls refused even to the instance's root: kexec (CAP_SYS_BOOT would allow loading a crash
 * kernel for the host), and interfaces the kernel does not namespace (keyrings, eBPF, perf,
 * userfaultfd, open_by_handle_at). A deny list: everything else a Linux machine does keeps working.
 */
export const DENIED_SYSCALLS = [
  'kexec_load',
  'kexec_file_load',
  'open_by_handle_at',
  'add_key',
  'keyctl',
  'request_key',
  'bpf',
  'perf_event_open',
  'userfaultfd',
];

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
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    // EC2's /dev/shm is half the memory; tmpfs pages count against the memory limit anyway.
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'mode=1777', `size=${Math.floor(input.memoryMiB / 2)}m`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  if (input.instanceStore) mounts.push({ destination: '/mnt', type: 'bind', source: input.instanceStore, options: ['rbind', 'rw', 'nosuid', 'nodev'] });
  const caps = [...INSTANCE_CAPS];
  const nofileHard = input.nofileHard ?? 524288;
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
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
        cpu: { period: 100000, quota: input.vcpus * 100000, shares: 1024 * input.vcpus },
        // swap = limit: no swap beyond memory, as an EC2 instance has none.
        memory: { limit: memory, swap: memory },
        pids: { limit: pidsLimit(input.memoryMiB) },
      },
      // No user namespace: the kernel allows them (max_user_namespaces > 0), but runc 1.1 cannot
      // give a container an idmapped root (runc 1.2 can), nor can bookworm's mount (util-linux
      // 2.38; X-mount.idmap came in 2.39). The other way, shifting every file's owner in each
      // root volume, would cost a pass over the filesystem per launch. So root inside is root
      // outside, held in by the namespaces, the capability set and seccomp.
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
        { type: 'network', path: input.netnsPath },
      ],
      seccomp: {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [{ names: DENIED_SYSCALLS, action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      },
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
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  return input.volumes?.length ? withVolumes(config, input.volumes) : config;
}
