// The seccomp profile of an instance: an allow-list, built by a pure function (table-tested in
// seccomp.test.ts) from the container's capability set, as the container engines build theirs.
//
// The table is the default profile of moby (Docker), which containerd and Podman's
// containers/common derive from: github.com/moby/profiles, seccomp/default.json at commit
// 190fa92cb2750186268c960ce30718d3495a228d (the profile moved there from moby/moby
// profiles/seccomp in 2025; this version has the kernel 6.13 / libseccomp 2.6.0 names of
// moby#50077 and the lsm_* gate of moby#50097). Same names, same groups, same argument filters;
// only the groups for this host's architectures (x86_64, with its i386 and x32 ABIs) are kept.
// Where cumulo refuses more than moby, NEVER_ALLOWED below says so.
//
// runc 1.1.5 with Debian 12's libseccomp 2.5.4-1+deb12u1 (syscall table up to Linux 6.7):
// - a name libseccomp does not know is skipped ("unknown seccomp syscall %q ignored", a debug
//   log), not an error, so the names of newer kernels (listmount, mseal, setxattrat…) stay in the
//   table and start working when the host's libseccomp learns them;
// - runc puts an -ENOSYS stub in front of the filter for syscall numbers above the highest one
//   the profile names (futex_requeue, 456, today): a syscall newer than the table gets ENOSYS,
//   as on an older kernel, and glibc falls back to the older call; below that, EPERM.

export type SeccompOp = 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOp;
}

export interface OciSyscallRule {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: OciSeccompArg[];
}

/** linux.seccomp of config.json, as runc 1.1 reads it (runtime-spec 1.0.2). */
export interface OciSeccomp {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: OciSyscallRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/**
 * x86_64 and i386 binaries. The reference adds x32, an ABI Debian's kernels leave off (its calls
 * fail with ENOSYS): left out, an x32 call is a bad architecture to the filter, which kills the
 * caller, and the filter runc compiles at every start is a third smaller (about 10 ms less a
 * launch here: bench/launch.ts).
 */
export const SECCOMP_ARCHITECTURES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'];

/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone may make no namespace. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/**
 * Refused whatever the capabilities, even where the reference would allow them (seccompProfile
 * drops them from every group, so no future capability set or table update lets them through):
 * - kexec_load, kexec_file_load: CAP_SYS_BOOT (which instances keep, for reboot) would let them
 *   load a kernel for the host. (moby's table never names them.)
 * - open_by_handle_at: opens any inode of a filesystem by handle, past the mount the container
 *   sees (the "shocker" escape); moby allows it with CAP_DAC_READ_SEARCH.
 * - bpf, perf_event_open: kernel-wide attack surface and observation of other tenants; moby
 *   allows them with CAP_SYS_ADMIN, CAP_BPF or CAP_PERFMON.
 * - userfaultfd: pins kernel threads mid-copy, the classic lever for kernel race exploits.
 * - add_key, keyctl, request_key: the reference now allows the keyring calls to every container
 *   (moby/profiles#2, 2025: keyrings respect user namespaces since the 2019 kernels); cumulo keeps
 *   refusing them, as it did before this allow-list: a large, bug-prone kernel interface
 *   (CVE-2016-0728 was a root exploit from any process) that instances do without
 *   (Debian's PAM calls pam_keyinit as "optional", and /proc/keys is masked anyway).
 */
export const NEVER_ALLOWED: readonly string[] = ['kexec_load', 'kexec_file_load', 'open_by_handle_at', 'bpf', 'perf_event_open', 'userfaultfd', 'add_key', 'keyctl', 'request_key'];

/** A group of the reference profile: its syscalls, and when the group applies. */
export interface SyscallGroup {
  names: readonly string[];
  /** Only when the container has every one of these capabilities (moby's includes.caps). */
  caps?: readonly string[];
  /** Not when the container has any of these (moby's excludes.caps). */
  unlessCaps?: readonly string[];
  args?: readonly OciSeccompArg[];
  /** Refuse with this errno instead of allowing. */
  errnoRet?: number;
}

/** Syscalls everyone may make. */
const EVERYONE: readonly string[] = [
  'accept',
  'accept4',
  'access',
  'add_key',
  'adjtimex',
  'alarm',
  'bind',
  'brk',
  'cachestat',
  'capget',
  'capset',
  'chdir',
  'chmod',
  'chown',
  'chown32',
  'clock_adjtime',
  'clock_adjtime64',
  'clock_getres',
  'clock_getres_time64',
  'clock_gettime',
  'clock_gettime64',
  'clock_nanosleep',
  'clock_nanosleep_time64',
  'close',
  'close_range',
  'connect',
  'copy_file_range',
  'creat',
  'dup',
  'dup2',
  'dup3',
  'epoll_create',
  'epoll_create1',
  'epoll_ctl',
  'epoll_ctl_old',
  'epoll_pwait',
  'epoll_pwait2',
  'epoll_wait',
  'epoll_wait_old',
  'eventfd',
  'eventfd2',
  'execve',
  'execveat',
  'exit',
  'exit_group',
  'faccessat',
  'faccessat2',
  'fadvise64',
  'fadvise64_64',
  'fallocate',
  'fanotify_mark',
  'fchdir',
  'fchmod',
  'fchmodat',
  'fchmodat2',
  'fchown',
  'fchown32',
  'fchownat',
  'fcntl',
  'fcntl64',
  'fdatasync',
  'fgetxattr',
  'flistxattr',
  'flock',
  'fork',
  'fremovexattr',
  'fsetxattr',
  'fstat',
  'fstat64',
  'fstatat64',
  'fstatfs',
  'fstatfs64',
  'fsync',
  'ftruncate',
  'ftruncate64',
  'futex',
  'futex_requeue',
  'futex_time64',
  'futex_wait',
  'futex_waitv',
  'futex_wake',
  'futimesat',
  'getcpu',
  'getcwd',
  'getdents',
  'getdents64',
  'getegid',
  'getegid32',
  'geteuid',
  'geteuid32',
  'getgid',
  'getgid32',
  'getgroups',
  'getgroups32',
  'getitimer',
  'getpeername',
  'getpgid',
  'getpgrp',
  'getpid',
  'getppid',
  'getpriority',
  'getrandom',
  'getresgid',
  'getresgid32',
  'getresuid',
  'getresuid32',
  'getrlimit',
  'get_robust_list',
  'getrusage',
  'getsid',
  'getsockname',
  'getsockopt',
  'get_thread_area',
  'gettid',
  'gettimeofday',
  'getuid',
  'getuid32',
  'getxattr',
  'getxattrat',
  'inotify_add_watch',
  'inotify_init',
  'inotify_init1',
  'inotify_rm_watch',
  'io_cancel',
  'ioctl',
  'io_destroy',
  'io_getevents',
  'io_pgetevents',
  'io_pgetevents_time64',
  'ioprio_get',
  'ioprio_set',
  'io_setup',
  'io_submit',
  'ipc',
  'keyctl',
  'kill',
  'landlock_add_rule',
  'landlock_create_ruleset',
  'landlock_restrict_self',
  'lchown',
  'lchown32',
  'lgetxattr',
  'link',
  'linkat',
  'listen',
  'listmount',
  'listxattr',
  'listxattrat',
  'llistxattr',
  '_llseek',
  'lremovexattr',
  'lseek',
  'lsetxattr',
  'lstat',
  'lstat64',
  'madvise',
  'map_shadow_stack',
  'membarrier',
  'memfd_create',
  'memfd_secret',
  'mincore',
  'mkdir',
  'mkdirat',
  'mknod',
  'mknodat',
  'mlock',
  'mlock2',
  'mlockall',
  'mmap',
  'mmap2',
  'mprotect',
  'mq_getsetattr',
  'mq_notify',
  'mq_open',
  'mq_timedreceive',
  'mq_timedreceive_time64',
  'mq_timedsend',
  'mq_timedsend_time64',
  'mq_unlink',
  'mremap',
  'mseal',
  'msgctl',
  'msgget',
  'msgrcv',
  'msgsnd',
  'msync',
  'munlock',
  'munlockall',
  'munmap',
  'name_to_handle_at',
  'nanosleep',
  'newfstatat',
  '_newselect',
  'open',
  'openat',
  'openat2',
  'pause',
  'pidfd_open',
  'pidfd_send_signal',
  'pipe',
  'pipe2',
  'pkey_alloc',
  'pkey_free',
  'pkey_mprotect',
  'poll',
  'ppoll',
  'ppoll_time64',
  'prctl',
  'pread64',
  'preadv',
  'preadv2',
  'prlimit64',
  'process_mrelease',
  'pselect6',
  'pselect6_time64',
  'pwrite64',
  'pwritev',
  'pwritev2',
  'read',
  'readahead',
  'readlink',
  'readlinkat',
  'readv',
  'recv',
  'recvfrom',
  'recvmmsg',
  'recvmmsg_time64',
  'recvmsg',
  'remap_file_pages',
  'removexattr',
  'removexattrat',
  'rename',
  'renameat',
  'renameat2',
  'request_key',
  'restart_syscall',
  'riscv_hwprobe',
  'rmdir',
  'rseq',
  'rt_sigaction',
  'rt_sigpending',
  'rt_sigprocmask',
  'rt_sigqueueinfo',
  'rt_sigreturn',
  'rt_sigsuspend',
  'rt_sigtimedwait',
  'rt_sigtimedwait_time64',
  'rt_tgsigqueueinfo',
  'sched_getaffinity',
  'sched_getattr',
  'sched_getparam',
  'sched_get_priority_max',
  'sched_get_priority_min',
  'sched_getscheduler',
  'sched_rr_get_interval',
  'sched_rr_get_interval_time64',
  'sched_setaffinity',
  'sched_setattr',
  'sched_setparam',
  'sched_setscheduler',
  'sched_yield',
  'seccomp',
  'select',
  'semctl',
  'semget',
  'semop',
  'semtimedop',
  'semtimedop_time64',
  'send',
  'sendfile',
  'sendfile64',
  'sendmmsg',
  'sendmsg',
  'sendto',
  'setfsgid',
  'setfsgid32',
  'setfsuid',
  'setfsuid32',
  'setgid',
  'setgid32',
  'setgroups',
  'setgroups32',
  'setitimer',
  'setpgid',
  'setpriority',
  'setregid',
  'setregid32',
  'setresgid',
  'setresgid32',
  'setresuid',
  'setresuid32',
  'setreuid',
  'setreuid32',
  'setrlimit',
  'set_robust_list',
  'setsid',
  'setsockopt',
  'set_thread_area',
  'set_tid_address',
  'setuid',
  'setuid32',
  'setxattr',
  'setxattrat',
  'shmat',
  'shmctl',
  'shmdt',
  'shmget',
  'shutdown',
  'sigaltstack',
  'signalfd',
  'signalfd4',
  'sigprocmask',
  'sigreturn',
  'socketcall',
  'socketpair',
  'splice',
  'stat',
  'stat64',
  'statfs',
  'statfs64',
  'statmount',
  'statx',
  'symlink',
  'symlinkat',
  'sync',
  'sync_file_range',
  'syncfs',
  'sysinfo',
  'tee',
  'tgkill',
  'time',
  'timer_create',
  'timer_delete',
  'timer_getoverrun',
  'timer_gettime',
  'timer_gettime64',
  'timer_settime',
  'timer_settime64',
  'timerfd_create',
  'timerfd_gettime',
  'timerfd_gettime64',
  'timerfd_settime',
  'timerfd_settime64',
  'times',
  'tkill',
  'truncate',
  'truncate64',
  'ugetrlimit',
  'umask',
  'uname',
  'unlink',
  'unlinkat',
  'uretprobe',
  'utime',
  'utimensat',
  'utimensat_time64',
  'utimes',
  'vfork',
  'vmsplice',
  'wait4',
  'waitid',
  'waitpid',
  'write',
  'writev',
];

const eq = (value: number): OciSeccompArg[] => [{ index: 0, value, op: 'SCMP_CMP_EQ' }];

/**
 * The reference profile's groups, in its order. Left out: the groups for ppc64le, arm/arm64,
 * s390/s390x (their clone filter too) and riscv64; this host is x86_64.
 */
export const SYSCALL_GROUPS: readonly SyscallGroup[] = [
  { names: EVERYONE },
  // moby's "minKernel 4.8" group: from 4.8 on, seccomp runs again after a tracer changes a
  // syscall, so ptrace cannot be used to slip past the filter. The kernel checks who may trace whom.
  { names: ['process_vm_readv', 'process_vm_writev', 'ptrace'] },
  // Any socket but AF_VSOCK (40): it talks to the hypervisor under the host, not to the VPC.
  // (i386 binaries can still reach it through socketcall, whose arguments sit in memory where
  // seccomp cannot look; as in moby, socketcall stays allowed, or 32-bit networking would break.)
  { names: ['socket'], args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
  // personality(2) only for the Linux persona: PER_LINUX, PER_LINUX32 (linux32), UNAME26,
  // PER_LINUX32|UNAME26, and 0xffffffff, which only asks the current persona.
  { names: ['personality'], args: eq(0x0) },
  { names: ['personality'], args: eq(0x0008) },
  { names: ['personality'], args: eq(0x20000) },
  { names: ['personality'], args: eq(0x20008) },
  { names: ['personality'], args: eq(0xffffffff) },
  // The amd64/x32 and amd64/x32/x86 groups: thread pointer and LDT setup.
  { names: ['arch_prctl'] },
  { names: ['modify_ldt'] },
  { names: ['open_by_handle_at'], caps: ['CAP_DAC_READ_SEARCH'] },
  {
    names: [
      'bpf',
      'clone',
      'clone3',
      'fanotify_init',
      'fsconfig',
      'fsmount',
      'fsopen',
      'fspick',
      'lookup_dcookie',
      'lsm_get_self_attr',
      'lsm_list_modules',
      'lsm_set_self_attr',
      'mount',
      'mount_setattr',
      'move_mount',
      'open_tree',
      'perf_event_open',
      'quotactl',
      'quotactl_fd',
      'setdomainname',
      'sethostname',
      'setns',
      'syslog',
      'umount',
      'umount2',
      'unshare',
    ],
    caps: ['CAP_SYS_ADMIN'],
  },
  // (Some later moby/profiles sources allow unshare outright, as moby#51130 proposed. Not here: unshare(CLONE_NEWUSER) needs
  // no capability, and a nested user namespace is how an unprivileged process reaches most of the
  // kernel's capability-gated code, nf_tables first. CAP_SYS_ADMIN is never in INSTANCE_CAPS.)
  // Without CAP_SYS_ADMIN, clone only when its flags (argument 0 on x86) ask for no new namespace:
  // fork and threads work, `unshare -U` and friends do not.
  { names: ['clone'], args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], unlessCaps: ['CAP_SYS_ADMIN'] },
  // clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes glibc (2.34+) fall
  // back to clone, which the rule above can check.
  { names: ['clone3'], errnoRet: ENOSYS, unlessCaps: ['CAP_SYS_ADMIN'] },
  { names: ['reboot'], caps: ['CAP_SYS_BOOT'] },
  { names: ['chroot'], caps: ['CAP_SYS_CHROOT'] },
  { names: ['delete_module', 'init_module', 'finit_module'], caps: ['CAP_SYS_MODULE'] },
  { names: ['acct'], caps: ['CAP_SYS_PACCT'] },
  { names: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'], caps: ['CAP_SYS_PTRACE'] },
  { names: ['iopl', 'ioperm'], caps: ['CAP_SYS_RAWIO'] },
  { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], caps: ['CAP_SYS_TIME'] },
  { names: ['vhangup'], caps: ['CAP_SYS_TTY_CONFIG'] },
  { names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], caps: ['CAP_SYS_NICE'] },
  { names: ['syslog'], caps: ['CAP_SYSLOG'] },
  { names: ['bpf'], caps: ['CAP_BPF'] },
  { names: ['perf_event_open'], caps: ['CAP_PERFMON'] },
];

/**
 * The profile for a container with capabilities `caps` (its bounding set): default EPERM; the
 * groups whose capabilities it has, as moby's generator picks them; never NEVER_ALLOWED. Names
 * allowed outright come in one rule, each once; rules with argument filters or an errno follow.
 */
export function seccompProfile(caps: readonly string[]): OciSeccomp {
  for (const c of caps) if (!/^CAP_[A-Z_]+$/.test(c)) throw new Error(`not a capability name: ${JSON.stringify(c)}`);
  const have = new Set(caps);
  const never = new Set(NEVER_ALLOWED);
  const applies = (g: SyscallGroup) => (g.caps ?? []).every((c) => have.has(c)) && !(g.unlessCaps ?? []).some((c) => have.has(c));
  const allowed: string[] = [];
  const seen = new Set<string>();
  const filtered: OciSyscallRule[] = [];
  for (const g of SYSCALL_GROUPS.filter(applies)) {
    const names = g.names.filter((n) => !never.has(n));
    if (!names.length) continue;
    if (g.errnoRet !== undefined) filtered.push({ names: [...names], action: 'SCMP_ACT_ERRNO', errnoRet: g.errnoRet });
    else if (g.args) filtered.push({ names: [...names], action: 'SCMP_ACT_ALLOW', args: g.args.map((a) => ({ ...a })) });
    else
      for (const n of names) {
        if (seen.has(n)) continue;
        seen.add(n);
        allowed.push(n);
      }
  }
  // A filtered rule for a name already allowed outright would be moot: drop it.
  const rest = filtered.filter((r) => r.action !== 'SCMP_ACT_ALLOW' || !r.names.some((n) => seen.has(n)));
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [...SECCOMP_ARCHITECTURES],
    syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }, ...rest],
  };
}
