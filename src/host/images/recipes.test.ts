// The pure parts of the image recipes: apt sources, the minimal image's files, ldd output, and that
// the recipes agree with the images table.
import { describe, expect, it } from 'vitest';
import { builtinImages } from '../../services/ec2/images/builtin.js';
import { recipeOf, recipes } from './builtin-store.js';
import { debianFiles, debianMirrors, debianSourcesFile, isolated, parseAptSources } from './debian.js';
import { minimalFiles, parseLdd } from './minimal.js';

describe('parseAptSources and debianMirrors', () => {
  const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no
`;
  const cases: [string, { name: string; text: string }[], { mirror?: string; security?: string }][] = [
    ['deb822 (this machine)', [{ name: 'debian.sources', text: deb822 }], { mirror: 'http://deb.debian.org/debian', security: 'http://deb.debian.org/debian-security' }],
    [
      'one-line format with options and a trailing slash',
      [
        {
          name: 'sources.list',
          text: '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib\ndeb http://security.example/debian-security bookworm-security main\n',
        },
      ],
      { mirror: 'http://mirror.example/debian', security: 'http://security.example/debian-security' },
    ],
    ['another suite only', [{ name: 'sources.list', text: 'deb http://deb.debian.org/debian trixie main\n' }], {}],
    ['a non-Debian repository is not the mirror', [{ name: 'x.list', text: 'deb https://deb.nodesource.com/node_20.x nodistro main\n' }], {}],
    ['cdrom is not a mirror', [{ name: 'sources.list', text: 'deb cdrom:[Debian]/ bookworm main\n' }], {}],
  ];
  it.each(cases)('%s', (_, files, want) => {
    expect(debianMirrors(parseAptSources(files))).toEqual(want);
  });

  it('writes deb822 sources for the image', () => {
    expect(debianSourcesFile({ mirror: 'http://m/debian', security: 'http://m/debian-security' })).toBe(
      'Types: deb\nURIs: http://m/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' +
        'Types: deb\nURIs: http://m/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n',
    );
    expect(debianSourcesFile({ mirror: 'http://m/debian' })).not.toContain('security');
  });

  it('gives admin passwordless sudo and sshd keys only', () => {
    const f = debianFiles({ mirror: 'http://m/debian' });
    expect(f['/etc/sudoers.d/90-cloud-init-users']).toEqual({ content: expect.stringContaining('\nadmin ALL=(ALL) NOPASSWD:ALL\n'), mode: 0o440 });
    expect(f['/etc/ssh/sshd_config.d/50-cumulo.conf']!.content).toMatch(/^PasswordAuthentication no$/m);
    expect(f['/etc/machine-id']!.content).toBe('');
  });
});

describe('isolated', () => {
  it('dies with its parent, in its own mount and PID namespaces', () => {
    expect(isolated('debootstrap', ['a', 'b'])).toEqual([
      'setpriv',
      ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--mount-proc', '--', 'debootstrap', 'a', 'b'],
    ]);
  });
});

describe('parseLdd', () => {
  it('takes resolved libraries and the loader, not the vdso', () => {
    const out = `\tlinux-vdso.so.1 (0x00007ffd5a1e0000)
\tlibtomcrypt.so.1 => /lib/x86_64-linux-gnu/libtomcrypt.so.1 (0x00007f25de964000)
\tlibsudo_util.so.0 => /usr/libexec/sudo/libsudo_util.so.0 (0x00007f31a48da000)
\tlibmissing.so.2 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f25dea84000)
`;
    expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libtomcrypt.so.1', '/usr/libexec/sudo/libsudo_util.so.0', '/lib64/ld-linux-x86-64.so.2']);
  });
});

describe('minimalFiles', () => {
  const f = minimalFiles({ version: '20261122', busybox: '1.35.0', dropbear: '2022.83', sudo: '1.9.13p3' });
  const cases: [string, RegExp][] = [
    ['/etc/passwd', /^ec2-user:x:1000:1000:EC2 Default User:\/home\/ec2-user:\/bin\/sh$/m],
    ['/etc/passwd', /^root:x:0:0:root:\/root:\/bin\/sh$/m],
    ['/etc/group', /^wheel:x:10:ec2-user$/m],
    ['/etc/shadow', /^ec2-user:\*:20779:0:99999:7:::$/m], // '*', never '!' (locked) nor empty
    ['/etc/shadow', /^root:\*:/m],
    ['/etc/sudoers.d/90-cloud-init-users', /^ec2-user ALL=\(ALL\) NOPASSWD:ALL$/m],
    ['/etc/sudoers', /^@includedir \/etc\/sudoers\.d$/m],
    ['/etc/pam.d/sudo', /^session\s+required\s+pam_permit\.so$/m],
    ['/etc/pam.d/other', /^auth\s+required\s+pam_deny\.so$/m],
    ['/etc/shells', /^\/bin\/sh$/m],
    ['/usr/lib/os-release', /^PRETTY_NAME="cumulo minimal 20261122 \(busybox 1\.35\.0, dropbear 2022\.83\)"$/m],
    ['/usr/lib/os-release', /^ID=cumulo-minimal$/m],
  ];
  it.each(cases)('%s has %s', (path, re) => {
    expect(f[path]!.content).toMatch(re);
  });
  it('keeps secrets and sudo rules unreadable to users', () => {
    expect(f['/etc/shadow']!.mode).toBe(0o600);
    expect(f['/etc/sudoers']!.mode).toBe(0o440);
    expect(f['/etc/sudoers.d/90-cloud-init-users']!.mode).toBe(0o440);
  });
});

describe('recipes', () => {
  it.each(builtinImages.map((i) => [i.name, i] as const))('%s: the recipe matches the images table', (_, img) => {
    const r = recipeOf(img.source.builtin);
    expect(r.sizeGiB).toBe(img.volumeSizeGiB);
    expect(r.sshUser).toBe(img.source.sshUser);
  });
  it('knows debian as debian-12, and nothing else', () => {
    expect(recipeOf('debian')).toBe(recipes['debian-12']);
    expect(() => recipeOf('windows')).toThrow(/no built-in image named 'windows'/);
  });
});
