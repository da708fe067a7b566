// The minimal image: busybox (static), dropbear and sudo from the host's Debian packages, with the
// shared libraries they load, and the cumulo init. About 10 MB; boots in milliseconds.
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';
import { installGuestInit } from './guest.js';
import { guestDir, guestSymlink, writeGuestFile, type FileSpec } from './rootfs.js';
import type { Progress } from './store.js';

export const MINIMAL_SSH_USER = 'ec2-user';
const UID = 1000;

/** Binaries taken from the host (Debian's busybox-static, dropbear-bin, sudo), at the same paths. */
export const minimalBinaries = {
  busybox: ['/usr/bin/busybox', '/bin/busybox'],
  dropbear: ['/usr/sbin/dropbear'],
  dropbearkey: ['/usr/bin/dropbearkey'],
  dbclient: ['/usr/bin/dbclient'],
  sudo: ['/usr/bin/sudo'],
} as const;

const MULTIARCH = '/usr/lib/x86_64-linux-gnu';
const PAM_MODULES = ['pam_unix.so', 'pam_permit.so', 'pam_deny.so'];

/** `ldd` output → the absolute paths of the libraries and the loader it names. */
export function parseLdd(out: string): string[] {
  const libs = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(0x/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.add(m[1]!);
  }
  return [...libs];
}

/** Days since 1970 of a version like 20261122 (shadow's "last changed" field). */
function days(version: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(version);
  return m ? Math.floor(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000) : 0;
}

export interface MinimalInfo {
  version: string;
  busybox: string;
  dropbear: string;
  sudo: string;
}

/** The configuration files of the minimal image (pure: table-tested). */
export function minimalFiles(info: MinimalInfo): Record<string, FileSpec> {
  const u = MINIMAL_SSH_USER;
  const d = days(info.version);
  const pam = ['#%PAM-1.0', 'auth     required   pam_unix.so', 'account  required   pam_unix.so', 'session  required   pam_permit.so', ''].join('\n');
  return {
    '/etc/passwd': { content: `root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n${u}:x:${UID}:${UID}:EC2 Default User:/home/${u}:/bin/sh\n` },
    '/etc/group': { content: `root:x:0:\nadm:x:4:${u}\ntty:x:5:\nwheel:x:10:${u}\nnogroup:x:65534:\n${u}:x:${UID}:\n` },
    // '*': no password matches, but the account is not locked (dropbear refuses locked ones).
    '/etc/shadow': { content: `root:*:${d}:0:99999:7:::\nnobody:*:${d}:0:99999:7:::\n${u}:*:${d}:0:99999:7:::\n`, mode: 0o600 },
    '/etc/shells': { content: '/bin/sh\n/bin/ash\n/usr/bin/sh\n/usr/bin/ash\n' },
    '/etc/nsswitch.conf': { content: 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' },
    '/etc/hostname': { content: 'localhost\n' },
    '/etc/hosts': { content: '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' },
    '/etc/fstab': { content: '# The host mounts the root volume and the instance store.\n' },
    '/etc/ld.so.conf': { content: `${MULTIARCH}\n/usr/libexec/sudo\n` },
    '/usr/lib/os-release': {
      content: [
        'NAME="cumulo minimal"',
        `VERSION="${info.version}"`,
        'ID=cumulo-minimal',
        `VERSION_ID="${info.version}"`,
        `PRETTY_NAME="cumulo minimal ${info.version} (busybox ${info.busybox}, dropbear ${info.dropbear})"`,
        'HOME_URL="https://github.com/cumulo"',
        '',
      ].join('\n'),
    },
    '/etc/profile': {
      content: [
        'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        `if [ "$(id -u)" -eq 0 ]; then PS1='[\\u@\\h \\W]# '; else PS1='[\\u@\\h \\W]\\$ '; fi`,
        'export PS1',
        '',
      ].join('\n'),
    },
    '/etc/motd': { content: `\n  cumulo minimal ${info.version}: busybox ${info.busybox}, dropbear ${info.dropbear}, sudo ${info.sudo}.\n  There is no package manager.\n\n` },
    '/etc/sudoers': {
      content: [
        'Defaults env_reset',
        'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
        'root ALL=(ALL:ALL) ALL',
        '@includedir /etc/sudoers.d',
        '',
      ].join('\n'),
      mode: 0o440,
    },
    // As cloud-init writes it on Amazon Linux.
    '/etc/sudoers.d/90-cloud-init-users': { content: `# Created by cumulo\n\n# User rules for ${u}\n${u} ALL=(ALL) NOPASSWD:ALL\n`, mode: 0o440 },
    '/etc/pam.d/sudo': { content: pam },
    '/etc/pam.d/sudo-i': { content: pam },
    '/etc/pam.d/other': {
      content: ['#%PAM-1.0', 'auth     required   pam_deny.so', 'account  required   pam_deny.so', 'password required   pam_deny.so', 'session  required   pam_deny.so', ''].join(
        '\n',
      ),
    },
  };
}

function first(paths: readonly string[]): string {
  const p = paths.find((x) => existsSync(x));
  if (!p) throw new Error(`not on this host: ${paths.join(' or ')} (its Debian package is declared in scripts/ensure.mjs)`);
  return p;
}

/** Copy a host file into the guest at the same path (or `as`), its content, not a link to it. */
function copyIn(root: string, hostPath: string, mode: number, as = hostPath): void {
  writeGuestFile(root, as, { content: readFileSync(realpathSync(hostPath)), mode });
}

async function versionOf(cmd: string, args: string[], re: RegExp): Promise<string> {
  const out = await run(cmd, args).catch((e: { stderr?: string }) => e.stderr ?? '');
  return re.exec(out)?.[1] ?? 'unknown';
}

/** Build the minimal root filesystem into `root` (an empty folder). */
export async function buildMinimalRootfs(root: string, version: string, onProgress: Progress = () => {}): Promise<void> {
  onProgress({ step: 'minimal: layout' });
  // merged /usr, like Debian 12
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const) {
    guestDir(root, `/${target}`);
    guestSymlink(root, `/${link}`, target);
  }
  for (const d of [
    '/etc/dropbear',
    '/etc/pam.d',
    '/usr/libexec',
    '/usr/local/bin',
    '/usr/local/sbin',
    '/usr/share',
    '/dev',
    '/proc',
    '/sys',
    '/run',
    '/var/log',
    '/var/lib',
    '/home',
    '/mnt',
    '/media',
    '/opt',
    '/srv',
  ])
    guestDir(root, d);
  for (const d of ['/tmp', '/var/tmp']) guestDir(root, d, 0o1777);
  guestDir(root, '/root', 0o700);
  guestDir(root, '/etc/sudoers.d', 0o750);
  guestDir(root, `/home/${MINIMAL_SSH_USER}`, 0o700, { uid: UID, gid: UID });
  guestDir(root, `${MULTIARCH}/security`);
  guestSymlink(root, '/var/run', '../run');
  guestSymlink(root, '/etc/mtab', '../proc/self/mounts');
  guestSymlink(root, '/etc/os-release', '../usr/lib/os-release');

  onProgress({ step: 'minimal: busybox' });
  const busybox = first(minimalBinaries.busybox);
  copyIn(root, busybox, 0o755, '/usr/bin/busybox');
  const applets = (await run(busybox, ['--list-full']))
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  // Not busybox itself (Debian lists bin/busybox), nor linuxrc (for an initramfs); init and the
  // shutdown commands are replaced by cumulo's (installGuestInit).
  for (const a of applets) if (!/(^|\/)(busybox|linuxrc)$/.test(a)) guestSymlink(root, `/${a}`, '/usr/bin/busybox');

  onProgress({ step: 'minimal: dropbear and sudo' });
  const elves: string[] = [];
  for (const name of ['dropbear', 'dropbearkey', 'dbclient'] as const) {
    const p = first(minimalBinaries[name]);
    copyIn(root, p, 0o755);
    elves.push(p);
  }
  const sudo = first(minimalBinaries.sudo);
  copyIn(root, sudo, 0o4755); // setuid root: how ec2-user becomes root
  elves.push(sudo);
  const libexec = '/usr/libexec/sudo';
  for (const e of readdirSync(libexec)) {
    const p = join(libexec, e);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) guestSymlink(root, p, readlinkSync(p));
    else if (st.isFile()) {
      copyIn(root, p, st.mode & 0o7777);
      if (e.endsWith('.so') || e.includes('.so.')) elves.push(p);
    }
  }
  for (const m of PAM_MODULES) {
    const p = join(MULTIARCH, 'security', m);
    copyIn(root, first([p]), 0o644);
    elves.push(p);
  }

  onProgress({ step: 'minimal: shared libraries' });
  const libs = new Set<string>();
  for (const e of elves) for (const l of parseLdd(await run('ldd', [e]).catch(() => ''))) libs.add(l);
  for (const l of libs) if (!l.startsWith(libexec)) copyIn(root, l, 0o755);

  onProgress({ step: 'minimal: configuration' });
  const info: MinimalInfo = {
    version,
    busybox: await versionOf(busybox, [], /BusyBox v(\S+)/),
    dropbear: await versionOf(first(minimalBinaries.dropbear), ['-V'], /Dropbear v(\S+)/),
    sudo: await versionOf(sudo, ['-V'], /Sudo version (\S+)/),
  };
  for (const [path, spec] of Object.entries(minimalFiles(info))) writeGuestFile(root, path, spec);
  installGuestInit(root);
  // The loader's cache, so the libraries are found without a search.
  await run('ldconfig', ['-r', root]);
}
