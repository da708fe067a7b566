import { describe, expect, it } from 'vitest';
import { CA_PATH, cpuSet, INSTANCE_CAPS, ociConfig, pidsLimit, withVolumes, type OciInput } from './oci.js';
import { NEVER_ALLOWED, seccompProfile } from './seccomp.js';

const base: OciInput = {
  instanceId: 'i-0123456789abcdef0',
  hostname: 'ip-172-31-0-5.ec2.internal',
  rootfs: '/var/lib/cumulo/instances/i-0123456789abcdef0/rootfs',
  netnsPath: '/run/netns/cu-ab12-89abcdef0',
  vcpus: 2,
  memoryMiB: 1024,
  cgroupsPath: '/cumulo_ab12/i-0123456789abcdef0',
  userns: { path: '/var/lib/cumulo/instances/i-0123456789abcdef0/userns', base: 2 ** 30 },
  devDir: '/var/lib/cumulo/instances/i-0123456789abcdef0/dev',
};

type Cfg = {
  process: {
    args: string[];
    user: { uid: number };
    noNewPrivileges: boolean;
    terminal: boolean;
    capabilities: Record<string, string[]>;
    rlimits: { soft: number; hard: number }[];
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options?: string[] }[];
  linux: {
    cgroupsPath: string;
    namespaces: { type: string; path?: string }[];
    resources: {
      cpu: { period: number; quota: number };
      memory: { limit: number; swap: number };
      pids: { limit: number };
      devices: { allow: boolean; type?: string; major?: number; minor?: number }[];
    };
    seccomp: { defaultAction: string; defaultErrnoRet: number; syscalls: { names: string[]; action: string }[] };
    maskedPaths: string[];
    readonlyPaths: string[];
  };
};
const cfg = (over: Partial<OciInput> = {}) => ociConfig({ ...base, ...over }) as unknown as Cfg;

describe('ociConfig', () => {
  it('boots the image init as root, writable root, the private DNS name as hostname', () => {
    const c = cfg();
    expect(c.process.args).toEqual(['/sbin/init']);
    expect(c.process.user.uid).toBe(0);
    expect((c.process.user as { umask?: number }).umask).toBe(0o022); // not the server's 0077
    expect(c.process.terminal).toBe(false);
    expect(c.process.noNewPrivileges).toBe(false); // sudo
    expect(c.root).toEqual({ path: base.rootfs, readonly: false });
    expect(c.hostname).toBe('ip-172-31-0-5.ec2.internal');
    expect(cfg({ init: ['/sbin/cumulo-init'] }).process.args).toEqual(['/sbin/cumulo-init']);
  });

  it.each([
    // vcpus, MiB → CPU quota (µs per 100 ms), memory bytes, pids
    [1, 512, 100000, 512 * 2 ** 20, 4096],
    [2, 1024, 200000, 2 ** 30, 4096],
    [4, 16384, 400000, 16 * 2 ** 30, 8192],
    [96, 393216, 9600000, 384 * 2 ** 30, 196608],
  ])('%i vCPU, %i MiB: quota %i, memory %i, pids %i', (vcpus, mib, quota, bytes, pids) => {
    const r = cfg({ vcpus, memoryMiB: mib }).linux.resources;
    expect(r.cpu).toMatchObject({ period: 100000, quota });
    expect(r.memory).toEqual({ limit: bytes, swap: bytes }); // no swap
    expect(r.pids.limit).toBe(pids);
    expect(pidsLimit(mib)).toBe(pids);
  });

  it('joins its own user namespace first, then makes pid, ipc, uts, mount and cgroup ones and joins its network namespace', () => {
    const c = cfg() as Cfg & { linux: { uidMappings: unknown[]; gidMappings: unknown[] } };
    const ns = c.linux.namespaces;
    expect(ns[0]).toEqual({ type: 'user', path: base.userns.path });
    expect(ns.map((n) => n.type).sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
    expect(ns.find((n) => n.type === 'network')).toEqual({ type: 'network', path: base.netnsPath });
    expect(c.linux.uidMappings).toEqual([{ containerID: 0, hostID: 2 ** 30, size: 65536 }]);
    expect(c.linux.gidMappings).toEqual(c.linux.uidMappings);
    expect(() => cfg({ userns: { path: '/x', base: 0 } })).toThrow(/uid range/); // never the host's own ids
    expect(() => cfg({ userns: { path: '/x', base: 2 ** 30 + 5 } })).toThrow(/uid range/); // aligned ranges only
  });

  it('has the host-made /dev bound in, so runc makes no device node of its own', () => {
    const dev = cfg().mounts.find((m) => m.destination === '/dev')!;
    expect(dev).toEqual({ destination: '/dev', type: 'bind', source: base.devDir, options: ['rbind', 'nosuid', 'noexec'] });
    expect(cfg().process.capabilities.bounding).not.toContain('CAP_MKNOD');
  });

  it('keeps a machine root’s capabilities and no more', () => {
    const caps = cfg().process.capabilities;
    for (const set of ['bounding', 'effective', 'permitted']) {
      expect(caps[set]).toEqual(INSTANCE_CAPS);
    }
    for (const needed of ['CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_BOOT', 'CAP_KILL']) {
      expect(caps.bounding).toContain(needed);
    }
    // Useless in a user namespace (no device nodes, no audit), and what reaches past the instance.
    for (const never of ['CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_RAWIO']) {
      expect(caps.bounding).not.toContain(never);
    }
  });

  it('filters syscalls with the allow-list of its capability set', () => {
    const s = cfg().linux.seccomp;
    expect(s).toEqual(seccompProfile(INSTANCE_CAPS));
    expect(s.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(s.defaultErrnoRet).toBe(1);
    const allowed = s.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names);
    expect(allowed).toEqual(expect.arrayContaining(['read', 'execve', 'reboot', 'chroot'])); // CAP_SYS_BOOT, CAP_SYS_CHROOT
    for (const never of [...NEVER_ALLOWED, 'mount', 'unshare', 'init_module']) expect(allowed).not.toContain(never);
  });

  it('denies devices except the usual character devices', () => {
    const d = cfg().linux.resources.devices;
    expect(d[0]).toEqual({ allow: false, access: 'rwm' });
    expect(d.slice(1).every((x) => x.allow && x.type === 'c')).toBe(true);
    expect(d.some((x) => x.major === 1 && x.minor === 3)).toBe(true); // /dev/null
    expect(d.some((x) => x.major === 136 && x.minor === undefined)).toBe(true); // ptys for sshd
  });

  it('mounts the usual API filesystems, sysfs and cgroups read-only, /dev/shm half the memory', () => {
    const m = cfg().mounts;
    expect(m.map((x) => x.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    expect(m.find((x) => x.destination === '/sys')!.options).toContain('ro');
    expect(m.find((x) => x.destination === '/sys/fs/cgroup')!.options).toContain('ro');
    expect(m.find((x) => x.destination === '/dev/shm')!.options).toContain('size=512m');
  });

  it('binds the instance store at /mnt when the type has one', () => {
    const m = cfg({ instanceStore: '/var/lib/cumulo/instances/i-0123456789abcdef0/store' }).mounts;
    expect(m.at(-1)).toEqual({ destination: '/mnt', type: 'bind', source: '/var/lib/cumulo/instances/i-0123456789abcdef0/store', options: ['rbind', 'rw', 'nosuid', 'nodev'] });
  });

  it("binds the API's CA read-only at /usr/lib/cumulo/ca.pem when there is one, and nothing without", () => {
    const m = cfg({ ca: '/run/cumulo/ab12/ca.pem' }).mounts;
    expect(m.filter((x) => x.destination === CA_PATH)).toEqual([
      { destination: '/usr/lib/cumulo/ca.pem', type: 'bind', source: '/run/cumulo/ab12/ca.pem', options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    ]);
    expect(cfg().mounts.map((x) => x.destination)).not.toContain(CA_PATH);
  });

  it('uses an absolute cgroup path and runc’s masked and read-only paths', () => {
    const c = cfg();
    expect(c.linux.cgroupsPath).toBe('/cumulo_ab12/i-0123456789abcdef0');
    expect(c.linux.maskedPaths).toContain('/proc/kcore');
    expect(c.linux.readonlyPaths).toContain('/proc/sysrq-trigger');
    // /proc/sys is read-only but for the instance's own network settings.
    expect(c.linux.readonlyPaths).toEqual(expect.arrayContaining(['/proc/sys/kernel', '/proc/sys/vm', '/proc/sys/fs', '/proc/sys/dev']));
    expect(c.linux.readonlyPaths.filter((p: string) => p === '/proc/sys' || p.startsWith('/proc/sys/net'))).toEqual([]);
    expect(() => cfg({ cgroupsPath: 'cumulo_ab12/x' })).toThrow(/absolute/);
  });

  it('caps the open-files limit at what the host can grant', () => {
    expect(cfg().process.rlimits[0]).toMatchObject({ soft: 1024, hard: 524288 });
    expect(cfg({ nofileHard: 20000 }).process.rlimits[0]).toMatchObject({ soft: 1024, hard: 20000 });
    expect(cfg({ nofileHard: 512 }).process.rlimits[0]).toMatchObject({ soft: 512, hard: 512 });
  });

  it('rejects nonsense sizes', () => {
    expect(() => cfg({ vcpus: 0 })).toThrow();
    expect(() => cfg({ memoryMiB: 1.5 })).toThrow();
  });
});

describe('EBS volumes in the config', () => {
  type V = {
    linux: {
      devices?: { path: string; type: string; major: number; minor: number }[];
      resources: {
        devices: { allow: boolean; type?: string; major?: number; minor?: number; access: string }[];
        blockIO?: Record<string, { major: number; minor: number; rate: number }[]>;
      };
    };
  };
  const vols = [
    { path: '/dev/sdf', major: 7, minor: 3, iops: 3000, bps: 125 * 2 ** 20 },
    { path: '/dev/xvdg', major: 7, minor: 4 },
  ];
  it('allows each volume rw and throttles it by its limits (the host makes its node)', () => {
    const c = ociConfig({ ...base, volumes: vols }) as unknown as V;
    expect(c.linux.devices).toBeUndefined();
    const allowed = c.linux.resources.devices.filter((d) => d.type === 'b');
    expect(allowed).toEqual([
      { allow: true, type: 'b', major: 7, minor: 3, access: 'rw' },
      { allow: true, type: 'b', major: 7, minor: 4, access: 'rw' },
    ]);
    // The deny-all comes first: the volumes' allowances after it.
    expect(c.linux.resources.devices[0]).toEqual({ allow: false, access: 'rwm' });
    expect(c.linux.resources.blockIO).toEqual({
      throttleReadBpsDevice: [{ major: 7, minor: 3, rate: 125 * 2 ** 20 }],
      throttleWriteBpsDevice: [{ major: 7, minor: 3, rate: 125 * 2 ** 20 }],
      throttleReadIOPSDevice: [{ major: 7, minor: 3, rate: 3000 }],
      throttleWriteIOPSDevice: [{ major: 7, minor: 3, rate: 3000 }],
    });
  });
  it('without volumes: no block device, no throttle', () => {
    const c = ociConfig(base) as unknown as V;
    expect(c.linux.devices).toBeUndefined();
    expect(c.linux.resources.blockIO).toBeUndefined();
    expect(c.linux.resources.devices.some((d) => d.type === 'b')).toBe(false);
  });
  it('withVolumes replaces the volumes and keeps the rest', () => {
    const before = ociConfig({ ...base, volumes: vols });
    const after = withVolumes(before, [{ path: '/dev/sdh', major: 7, minor: 9, iops: 100 }]) as unknown as V;
    expect(after.linux.devices).toBeUndefined();
    expect(after.linux.resources.devices.filter((d) => d.type === 'b').map((d) => d.minor)).toEqual([9]);
    expect(after.linux.resources.devices.filter((d) => d.type === 'c').length).toBeGreaterThan(5);
    expect(after.linux.resources.blockIO!.throttleReadBpsDevice).toEqual([]);
    expect(after.linux.resources.blockIO!.throttleWriteIOPSDevice).toEqual([{ major: 7, minor: 9, rate: 100 }]);
    const none = withVolumes(before, []) as unknown as V;
    expect(none.linux.devices).toBeUndefined();
    expect(none.linux.resources.blockIO).toBeUndefined();
    expect(JSON.stringify(withVolumes(none, []))).toBe(JSON.stringify(ociConfig(base)));
  });
  it('refuses device names that are not a single name under /dev', () => {
    for (const path of ['/dev/../etc/passwd', 'sdf', '/dev/sd/f', '/dev/', '/dev/SDF']) {
      expect(() => ociConfig({ ...base, volumes: [{ path, major: 7, minor: 1 }] })).toThrow(/invalid device name/);
    }
  });
});

describe('cpuSet', () => {
  it('leaves an instance with as many vCPUs as the host has cores (or more) on all of them', () => {
    expect(cpuSet('i-0123456789abcdef0', 2, 2)).toBeUndefined();
    expect(cpuSet('i-0123456789abcdef0', 8, 2)).toBeUndefined();
    expect(cpuSet('i-0123456789abcdef0', 1, 1)).toBeUndefined();
  });
  it('gives a smaller instance as many cores as it has vCPUs, spread by its id', () => {
    const picks = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const s = cpuSet(`i-0123456789abcd${String(i).padStart(3, '0')}`, 2, 8)!;
      expect(s.split(',')).toHaveLength(2);
      for (const c of s.split(',')) expect(Number(c)).toBeLessThan(8);
      picks.add(s);
    }
    expect(picks.size).toBeGreaterThan(3);
    expect(cpuSet('i-0123456789abcdef0', 1, 2)).toMatch(/^[01]$/);
    expect(cpuSet('i-0123456789abcdef0', 1, 2)).toBe(cpuSet('i-0123456789abcdef0', 1, 2)); // stable across boots
  });
});
