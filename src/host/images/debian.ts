// The Debian 12 image: debootstrap (minbase) from the Debian mirror this host uses, plus what a
// Debian cloud image has that matters here (OpenSSH, python3, sudo, iproute2, procps), an AWS SDK
// (python3-boto3: the API's endpoint in the VPC answers it with no configuration), the user
// admin with passwordless sudo, and the cumulo init as PID 1.
//
// PID 1 is the cumulo init, not systemd: systemd in a runc container on this cgroup-v1 host needs
// writable cgroup mounts, a pile of capabilities and seconds to boot; the init starts sshd in
// tens of milliseconds and handles user data and shutdown the same way as in the minimal image.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';
import { installGuestInit } from './guest.js';
import { guestDir, resolveInRoot, writeGuestFile } from './rootfs.js';
import type { Progress } from './store.js';

export const DEBIAN_SSH_USER = 'admin';
export const DEBIAN_SUITE = 'bookworm';

/** Packages on top of minbase: lean, no recommends (debootstrap installs none). */
export const debianPackages = ['openssh-server', 'python3', 'sudo', 'iproute2', 'procps', 'ca-certificates', 'busybox', 'netbase', 'python3-boto3'];

/** The groups Debian's cloud images give their default user (those that exist in a minbase system). */
const ADMIN_GROUPS = ['adm', 'dialout', 'cdrom', 'floppy', 'sudo', 'audio', 'dip', 'video', 'plugdev'];

export interface AptSource {
  uris: string[];
  suites: string[];
  components: string[];
}

/** Entries of deb822 (.sources) and one-line (.list) files; deb only, enabled only. */
export function parseAptSources(files: { name: string; text: string }[]): AptSource[] {
  const out: AptSource[] = [];
  for (const f of files) {
    if (f.name.endsWith('.sources')) {
      for (const stanza of f.text.split(/\n\s*\n/)) {
        const fields: Record<string, string> = {};
        let key = '';
        for (const line of stanza.split('\n')) {
          if (line.startsWith('#')) continue;
          if (/^\s/.test(line) && key) {
            fields[key] += ' ' + line.trim();
            continue;
          }
          const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
          if (m) fields[(key = m[1]!.toLowerCase())] = m[2]!.trim();
        }
        if (!fields.types?.split(/\s+/).includes('deb')) continue;
        if (/^(no|false)$/i.test(fields.enabled ?? '')) continue;
        out.push({
          uris: (fields.uris ?? '').split(/\s+/).filter(Boolean),
          suites: (fields.suites ?? '').split(/\s+/).filter(Boolean),
          components: (fields.components ?? '').split(/\s+/).filter(Boolean),
        });
      }
    } else {
      for (const raw of f.text.split('\n')) {
        const line = raw.replace(/#.*/, '').trim();
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
        if (m) out.push({ uris: [m[1]!], suites: [m[2]!], components: m[3]!.split(/\s+/).filter(Boolean) });
      }
    }
  }
  return out;
}

/** The mirror of `suite` (and of its security suite, if configured) among the host's apt sources. */
export function debianMirrors(sources: AptSource[], suite = DEBIAN_SUITE): { mirror?: string; security?: string } {
  const http = (u: string) => /^https?:\/\//.test(u);
  const mirror = sources.find((s) => s.suites.includes(suite) && s.components.includes('main'))?.uris.find(http);
  const security = sources.find((s) => s.suites.includes(`${suite}-security`))?.uris.find(http);
  return { ...(mirror ? { mirror: mirror.replace(/\/+$/, '') } : {}), ...(security ? { security: security.replace(/\/+$/, '') } : {}) };
}

/** This host's apt sources: /etc/apt/sources.list and sources.list.d/*.{list,sources}. */
export function hostAptSources(etc = '/etc/apt'): AptSource[] {
  const files: { name: string; text: string }[] = [];
  if (existsSync(join(etc, 'sources.list'))) files.push({ name: 'sources.list', text: readFileSync(join(etc, 'sources.list'), 'utf8') });
  const d = join(etc, 'sources.list.d');
  if (existsSync(d)) {
    for (const n of readdirSync(d).sort()) if (n.endsWith('.list') || n.endsWith('.sources')) files.push({ name: n, text: readFileSync(join(d, n), 'utf8') });
  }
  return parseAptSources(files);
}

/** The image's apt sources, deb822 as Debian 12 cloud images have them. */
export function debianSourcesFile(m: { mirror: string; security?: string }, suite = DEBIAN_SUITE): string {
  const stanza = (uri: string, suites: string) =>
    ['Types: deb', `URIs: ${uri}`, `Suites: ${suites}`, 'Components: main', 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', ''].join('\n');
  return [stanza(m.mirror, `${suite} ${suite}-updates`), ...(m.security ? [stanza(m.security, `${suite}-security`)] : [])].join('\n');
}

/** Files the image gets on top of Debian's own (pure: table-tested). */
export function debianFiles(m: { mirror: string; security?: string }): Record<string, { content: string; mode?: number }> {
  const u = DEBIAN_SSH_USER;
  return {
    '/etc/apt/sources.list.d/debian.sources': { content: debianSourcesFile(m) },
    '/etc/sudoers.d/90-cloud-init-users': { content: `# Created by cumulo\n\n# User rules for ${u}\n${u} ALL=(ALL) NOPASSWD:ALL\n`, mode: 0o440 },
    '/etc/ssh/sshd_config.d/50-cumulo.conf': {
      content: [
        '# As in Debian cloud images: keys only.',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UseDNS no',
        '',
      ].join('\n'),
    },
    '/etc/hostname': { content: 'localhost\n' },
    '/etc/hosts': { content: '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n' },
    // Empty: made at first boot by whoever needs one; never shared between instances.
    '/etc/machine-id': { content: '', mode: 0o444 },
  };
}

/**
 * A command that dies with this process (setpriv's parent-death signal) in its own mount and PID
 * namespaces: the mounts debootstrap makes (proc, sys in the target) and every process it starts
 * vanish with it, even when the server is killed mid-build.
 */
export function isolated(cmd: string, args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--mount-proc', '--', cmd, ...args]];
}

function inRoot(root: string, args: string[]): Promise<string> {
  const [c, a] = isolated('chroot', [root, ...args]);
  return run(c, a, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' } });
}

/** Build the Debian root filesystem into `root` (an empty folder). Minutes: downloads ~100 packages. */
export async function buildDebianRootfs(root: string, onProgress: Progress = () => {}): Promise<void> {
  const found = debianMirrors(hostAptSources());
  const mirror = process.env.CUMULO_DEBIAN_MIRROR ?? found.mirror;
  if (!mirror) throw new Error(`no Debian ${DEBIAN_SUITE} mirror in /etc/apt/sources.list*; set CUMULO_DEBIAN_MIRROR`);
  onProgress({ step: `debian: debootstrap ${DEBIAN_SUITE} from ${mirror}` });
  const counts: Record<string, number> = {};
  const [c, a] = isolated('debootstrap', ['--variant=minbase', '--arch=amd64', '--components=main', `--include=${debianPackages.join(',')}`, DEBIAN_SUITE, root, mirror]);
  await run(c, a, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8' },
    onLine: (line) => {
      // "I: Retrieving libc6 2.36-9", "I: Configuring sudo...": one counted event per package.
      const m = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) (?!Packages|Release|InRelease|required|the base|base system)\S/.exec(line);
      if (m) {
        const verb = m[1]!.toLowerCase();
        counts[verb] = (counts[verb] ?? 0) + 1;
        if (verb !== 'validating') onProgress({ step: `debian: ${verb} packages`, done: counts[verb] });
      } else if (line.startsWith('I: '))
        onProgress({
          step: `debian: ${line
            .slice(3)
            .replace(/\.\.\.$/, '')
            .trim()}`,
        });
    },
  });

  onProgress({ step: `debian: user ${DEBIAN_SSH_USER}, ssh, sudo` });
  await inRoot(root, ['useradd', '-m', '-s', '/bin/bash', '-u', '1000', '-U', '-c', 'Debian', '-G', ADMIN_GROUPS.join(','), DEBIAN_SSH_USER]);
  // '*': keys only; not '!' (locked), which some sshd setups refuse even for keys.
  await inRoot(root, ['usermod', '-p', '*', DEBIAN_SSH_USER]);
  for (const [path, spec] of Object.entries(debianFiles({ mirror, ...(found.security ? { security: found.security } : {}) }))) writeGuestFile(root, path, spec);
  // A container cannot set its loginuid: optional, or every SSH login is refused.
  const pamSshd = resolveInRoot(root, '/etc/pam.d/sshd', { followLast: true });
  writeGuestFile(root, '/etc/pam.d/sshd', readFileSync(pamSshd, 'utf8').replace(/^(session\s+)required(\s+pam_loginuid\.so)/m, '$1optional$2'));

  onProgress({ step: 'debian: cleaning' });
  // Made by the build, never to be shared: host keys (each instance makes its own), the build
  // host's resolver, apt's downloads and lists, logs.
  for (const e of readdirSync(join(root, 'etc/ssh'))) if (e.startsWith('ssh_host_')) rmSync(join(root, 'etc/ssh', e));
  rmSync(join(root, 'etc/resolv.conf'), { force: true });
  rmSync(join(root, 'etc/apt/sources.list'), { force: true });
  for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const e of readdirSync(join(root, d))) if (e !== 'partial' && e !== 'lock') rmSync(join(root, d, e), { recursive: true, force: true });
  }
  for (const e of readdirSync(join(root, 'var/cache/apt'))) if (e.endsWith('.bin')) rmSync(join(root, 'var/cache/apt', e));
  for (const f of ['var/log/bootstrap.log', 'var/log/dpkg.log', 'var/log/alternatives.log', 'var/log/apt/history.log', 'var/log/apt/term.log'])
    rmSync(join(root, f), { force: true });
  guestDir(root, '/run/sshd', 0o755);

  onProgress({ step: 'debian: cumulo init' });
  installGuestInit(root);
}
