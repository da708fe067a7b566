import { describe, expect, it } from 'vitest';
import { INSTANCE_CAPS } from './oci.js';
import { CLONE_NAMESPACE_FLAGS, NEVER_ALLOWED, SECCOMP_ARCHITECTURES, SYSCALL_GROUPS, seccompProfile, type OciSeccomp, type OciSeccompArg } from './seccomp.js';

/** The capability set of instances in their user namespace (no CAP_SYS_ADMIN), as oci.ts gives it. */
const USERNS_CAPS = INSTANCE_CAPS;

/** Every capability of Linux 6.x (capability.h). */
const ALL_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

const without = (caps: string[], cap: string) => caps.filter((c) => c !== cap);

function argMatches(a: OciSeccompArg, args: number[]): boolean {
  const x = args[a.index] ?? 0;
  switch (a.op) {
    case 'SCMP_CMP_EQ':
      return x === a.value;
    case 'SCMP_CMP_NE':
      return x !== a.value;
    case 'SCMP_CMP_LT':
      return x < a.value;
    case 'SCMP_CMP_LE':
      return x <= a.value;
    case 'SCMP_CMP_GT':
      return x > a.value;
    case 'SCMP_CMP_GE':
      return x >= a.value;
    // runtime-spec: value is the mask, valueTwo what the masked argument must equal.
    case 'SCMP_CMP_MASKED_EQ':
      return Number(BigInt(x) & BigInt(a.value)) === (a.valueTwo ?? 0);
  }
}

/** What the filter answers a call: 'allow' or the errno (an allow rule wins, as in libseccomp). */
function verdict(p: OciSeccomp, name: string, args: number[] = []): 'allow' | number {
  const hits = p.syscalls.filter((r) => r.names.includes(name) && (r.args ?? []).every((a) => argMatches(a, args)));
  if (hits.some((r) => r.action === 'SCMP_ACT_ALLOW')) return 'allow';
  const errno = hits.find((r) => r.action === 'SCMP_ACT_ERRNO');
  return errno ? (errno.errnoRet ?? p.defaultErrnoRet) : p.defaultErrnoRet;
}

const outright = (p: OciSeccomp) => p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length).flatMap((r) => r.names);
const anyAllow = (p: OciSeccomp) => p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names);

const EPERM = 1;
const ENOSYS = 38;
const CLONE_FORK = 0x01200011; // CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD: glibc's fork
const CLONE_THREAD = 0x003d0f00; // glibc's pthread_create
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWNS = 0x00020000;

describe('seccompProfile', () => {
  const p = seccompProfile(USERNS_CAPS);

  it('refuses with EPERM whatever it does not name, on the three x86 ABIs', () => {
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(EPERM);
    expect(p.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    expect(SECCOMP_ARCHITECTURES).toEqual(p.architectures);
    expect(verdict(p, 'no_such_call')).toBe(EPERM);
  });

  it.each([
    'read',
    'write',
    'openat',
    'close',
    'execve',
    'exit_group',
    'mmap',
    'mprotect',
    'brk',
    'futex',
    'wait4',
    'rt_sigaction',
    'arch_prctl',
    'modify_ldt',
    'set_tid_address',
    'rseq',
    'prlimit64',
    'getrandom',
    'newfstatat',
    'statx',
    'getdents64',
    'fchmodat2',
    'fork',
    'vfork',
    'setresuid',
    'setgroups',
    'capset',
    'setsid',
    'ioctl',
    'prctl',
    'bind',
    'listen',
    'accept4',
    'sendto',
    'recvmsg',
    'setsockopt',
    'epoll_wait',
    'ppoll',
    'pselect6',
    'kill',
    'sync',
    'fsync',
    'mknodat',
    'fchownat',
    'ptrace',
    'process_vm_readv',
    'name_to_handle_at',
    'socketcall',
  ])('allows %s outright', (name) => {
    expect(outright(p)).toContain(name);
    expect(verdict(p, name)).toBe('allow');
  });

  it.each([
    ['a fork', CLONE_FORK],
    ['a thread', CLONE_THREAD],
  ])('allows clone for %s, not for a new namespace', (_what, flags) => {
    expect(verdict(p, 'clone', [flags])).toBe('allow');
    for (const ns of [CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS]) expect(verdict(p, 'clone', [flags | ns])).toBe(EPERM);
  });

  it('checks clone’s flags with a mask of the namespace bits (argument 0 on x86)', () => {
    expect(outright(p)).not.toContain('clone');
    const rules = p.syscalls.filter((r) => r.names.includes('clone'));
    expect(rules).toEqual([{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    expect(CLONE_NAMESPACE_FLAGS).toBe(0x7e020000);
  });

  it('answers clone3 with ENOSYS, so that glibc falls back to clone', () => {
    expect(p.syscalls.filter((r) => r.names.includes('clone3'))).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS }]);
    expect(verdict(p, 'clone3')).toBe(ENOSYS);
  });

  it.each([
    [0x0, 'allow'],
    [0x0008, 'allow'], // PER_LINUX32: linux32
    [0x20000, 'allow'], // UNAME26
    [0x20008, 'allow'],
    [0xffffffff, 'allow'], // query
    [0x0040000, EPERM], // ADDR_NO_RANDOMIZE: setarch -R
    [0x0400000, EPERM], // READ_IMPLIES_EXEC
    [0x0010, EPERM], // PER_SVR4
  ] as const)('personality(%i): %s', (persona, expected) => {
    expect(verdict(p, 'personality', [persona])).toBe(expected);
  });

  it('allows personality only with an argument filter, one value per rule', () => {
    const rules = p.syscalls.filter((r) => r.names.includes('personality'));
    expect(rules).toHaveLength(5);
    for (const r of rules) expect(r).toMatchObject({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ' }] });
  });

  it.each([
    [1, 'allow'], // AF_UNIX
    [2, 'allow'], // AF_INET: ping, sshd
    [10, 'allow'], // AF_INET6
    [16, 'allow'], // AF_NETLINK: ip
    [17, 'allow'], // AF_PACKET: dhclient
    [40, EPERM], // AF_VSOCK
  ] as const)('socket(%i, …): %s', (family, expected) => {
    expect(verdict(p, 'socket', [family])).toBe(expected);
  });

  it.each([
    // capability, syscalls it brings
    ['CAP_SYS_ADMIN', ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'setdomainname', 'fsopen', 'move_mount', 'quotactl', 'clone', 'clone3']],
    ['CAP_SYS_BOOT', ['reboot']],
    ['CAP_SYS_CHROOT', ['chroot']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_PACCT', ['acct']],
    ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise']],
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']],
    ['CAP_SYS_TTY_CONFIG', ['vhangup']],
    ['CAP_SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']],
    ['CAP_SYSLOG', ['syslog']],
  ])('%s brings %j', (cap, names) => {
    const withIt = seccompProfile([...without(USERNS_CAPS, cap), cap]);
    const withoutIt = seccompProfile(without(USERNS_CAPS, cap));
    for (const n of names) {
      expect(outright(withIt)).toContain(n);
      expect(outright(withoutIt)).not.toContain(n);
    }
  });

  it('gives CAP_SYS_ADMIN clone and clone3 outright, without the flag check or ENOSYS', () => {
    const admin = seccompProfile([...USERNS_CAPS, 'CAP_SYS_ADMIN']);
    expect(verdict(admin, 'clone', [CLONE_NEWUSER])).toBe('allow');
    expect(verdict(admin, 'clone3')).toBe('allow');
    expect(admin.syscalls.filter((r) => r.names.includes('clone') || r.names.includes('clone3'))).toHaveLength(1);
  });

  it('the user-namespace capability set: no mounts, namespaces, modules, kexec, eBPF, perf; reboot and chroot work', () => {
    for (const n of [
      'mount',
      'umount2',
      'unshare',
      'setns',
      'fsopen',
      'init_module',
      'finit_module',
      'kexec_load',
      'kexec_file_load',
      'bpf',
      'perf_event_open',
      'open_by_handle_at',
      'settimeofday',
      'iopl',
    ]) {
      expect(anyAllow(p)).not.toContain(n);
      expect(verdict(p, n)).toBe(EPERM);
    }
    expect(verdict(p, 'clone', [CLONE_FORK | CLONE_NEWUSER])).toBe(EPERM); // unshare -U by clone
    expect(verdict(p, 'reboot')).toBe('allow');
    expect(verdict(p, 'chroot')).toBe('allow');
  });

  it.each([
    ['no capability', []],
    ['the user-namespace set', USERNS_CAPS],
    ['every capability', ALL_CAPS],
  ])('never allows kexec, open_by_handle_at, eBPF, perf, userfaultfd or keyrings, with %s', (_what, caps) => {
    const q = seccompProfile(caps);
    for (const n of ['kexec_load', 'kexec_file_load', 'open_by_handle_at', 'bpf', 'perf_event_open', 'userfaultfd', 'add_key', 'keyctl', 'request_key']) {
      expect(NEVER_ALLOWED).toContain(n);
      expect(anyAllow(q)).not.toContain(n);
      expect(verdict(q, n)).toBe(EPERM);
    }
  });

  it.each([
    ['no capability', []],
    ['the user-namespace set', USERNS_CAPS],
    ['every capability', ALL_CAPS],
  ])('names each syscall once, with %s', (_what, caps) => {
    const q = seccompProfile(caps);
    const names = outright(q);
    expect(new Set(names).size).toBe(names.length);
    // A name allowed outright has no other rule (it would be moot, or contradict).
    const others = q.syscalls.slice(1).flatMap((r) => r.names);
    expect(others.filter((n) => names.includes(n))).toEqual([]);
    for (const r of q.syscalls) expect(r.names.length).toBeGreaterThan(0);
  });

  it('keeps the reference’s size: some 350 syscalls allowed outright', () => {
    const n = outright(p).length;
    expect(n).toBeGreaterThan(330);
    expect(n).toBeLessThan(380);
  });

  it('is plain JSON that runc 1.1 reads: known actions and operators, integer arguments, lower-case names', () => {
    for (const caps of [[], USERNS_CAPS, ALL_CAPS]) {
      const q = seccompProfile(caps);
      expect(JSON.parse(JSON.stringify(q))).toEqual(q);
      for (const r of q.syscalls) {
        expect(['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO']).toContain(r.action);
        if (r.errnoRet !== undefined) expect(r.action).toBe('SCMP_ACT_ERRNO');
        for (const n of r.names) expect(n).toMatch(/^[a-z_][a-z0-9_]*$/);
        for (const a of r.args ?? []) {
          expect(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']).toContain(a.op);
          expect(a.index).toBeGreaterThanOrEqual(0);
          expect(a.index).toBeLessThan(6);
          for (const v of [a.value, a.valueTwo ?? 0]) {
            expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
          }
        }
      }
    }
  });

  it('is a pure function of the capability set, whatever their order', () => {
    expect(seccompProfile([...USERNS_CAPS].reverse())).toEqual(p);
    const q = seccompProfile(USERNS_CAPS);
    q.syscalls[0].names.push('kexec_load');
    q.syscalls.find((r) => r.args)!.args![0].value = 0;
    expect(seccompProfile(USERNS_CAPS)).toEqual(p); // the table is not shared with what it returns
    expect(SYSCALL_GROUPS.flatMap((g) => g.names)).not.toContain('userfaultfd');
  });

  it('refuses what is not a capability name', () => {
    expect(() => seccompProfile(['SYS_ADMIN'])).toThrow(/not a capability/);
    expect(() => seccompProfile(['cap_sys_admin'])).toThrow(/not a capability/);
  });
});
