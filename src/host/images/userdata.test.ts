import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, requires } from '../../../test/requires.js';
import { commandScript, distroOf, fileContent, fileMode, sq, userDataScript, validName, type Distro } from './userdata.js';

const needs = requires({ root: true, commands: ['busybox'] });
const hasBusybox = hasCommand('busybox');

// ---------------------------------------------------------------------------------------------
// A sandbox: the script runs for real, with every path it writes under a temp folder
// (CUMULO_USERDATA_ROOT). The minimal image is imitated by a PATH of busybox applets only (no
// useradd: the script edits /etc/passwd itself); Debian by dash and the host's shadow tools, which
// take --prefix.

let work: string;
let busyboxBin: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cumulo-userdata-'));
  busyboxBin = join(work, 'busybox-bin');
  mkdirSync(busyboxBin);
  if (hasBusybox) {
    const applets = spawnSync('busybox', ['--list']).stdout.toString().split('\n').filter(Boolean);
    for (const a of applets) symlinkSync(spawnSync('sh', ['-c', 'command -v busybox']).stdout.toString().trim(), join(busyboxBin, a));
  }
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Ran {
  root: string;
  code: number | null;
  out: string;
  script: string;
  read(path: string): string;
  exists(path: string): boolean;
}

let n = 0;
function run(userData: string | Buffer, distro: Distro = 'minimal', sshUser = distro === 'minimal' ? 'ec2-user' : 'admin'): Ran {
  const root = join(work, `root-${++n}`);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, `home/${sshUser}`), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${sshUser}:x:1000:1000::/home/${sshUser}:/bin/sh\n`);
  writeFileSync(join(root, 'etc/group'), `root:x:0:\n${sshUser}:x:1000:\n`);
  writeFileSync(join(root, 'etc/shadow'), `root:*:19000:0:99999:7:::\n${sshUser}:*:19000:0:99999:7:::\n`);
  writeFileSync(join(root, 'etc/gshadow'), `root:*::\n${sshUser}:!::\n`);
  const script = userDataScript(Buffer.isBuffer(userData) ? userData : Buffer.from(userData), { sshUser, distro });
  const file = join(work, `script-${n}.sh`);
  writeFileSync(file, script);
  const [shell, path] = distro === 'minimal' ? [join(busyboxBin, 'sh'), busyboxBin] : ['/bin/sh', '/usr/sbin:/usr/bin:/sbin:/bin'];
  const r = spawnSync(shell, [file], { cwd: root, env: { PATH: path, CUMULO_USERDATA_ROOT: root, HOME: '/root' }, timeout: 20_000 });
  return {
    root,
    code: r.status,
    out: r.stdout.toString() + r.stderr.toString(),
    script,
    read: (p) => readFileSync(join(root, p), 'utf8'),
    exists: (p) => existsSync(join(root, p)),
  };
}

function modeOf(r: Ran, p: string): string {
  return (statSync(join(r.root, p)).mode & 0o7777).toString(8).padStart(4, '0');
}

/** Every file under root, for "nothing else was made" checks. */
function files(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base), { withFileTypes: true }).flatMap((e) => {
    const rel = base ? `${base}/${e.name}` : e.name;
    return e.isDirectory() ? [rel + '/', ...files(dir, rel)] : [rel];
  });
}

// ---------------------------------------------------------------------------------------------
// Pure pieces

describe('sq', () => {
  const cases: [string, string][] = [
    ['plain', `'plain'`],
    ["it's", `'it'\\''s'`],
    ['$(rm -rf /)', `'$(rm -rf /)'`],
    ['a\0b', `'ab'`],
    ['', `''`],
  ];
  it.each(cases)('%j', (s, q) => {
    expect(sq(s)).toBe(q);
  });
  it('round-trips through a real shell', () => {
    for (const s of ["it's", '$(id) `id` ${HOME} "q" \\ \n newline', "'; touch /tmp/x; '"]) {
      expect(spawnSync('sh', ['-c', `printf %s ${sq(s)}`]).stdout.toString()).toBe(s);
    }
  });
});

describe('fileMode', () => {
  const cases: [unknown, string | undefined][] = [
    [undefined, '0644'],
    [0o600, '0600'], // YAML 1.1 reads 0600 as this number
    [0o4755, '4755'],
    [0o644, '0644'],
    [0, '0000'],
    ['0640', '0640'],
    ['755', '0755'],
    ['0o700', '0700'],
    ['rwx', undefined],
    ['0999', undefined],
    [-1, undefined],
    ['0644; rm -rf /', undefined],
  ];
  it.each(cases)('%j → %j', (v, m) => {
    expect(fileMode(v)).toBe(m);
  });
});

describe('fileContent', () => {
  const bin = Buffer.from([0, 1, 2, 255, 10]);
  const cases: [string, unknown, unknown, Buffer][] = [
    ['text', 'hello\n', undefined, Buffer.from('hello\n')],
    ['text/plain', 'x', 'text/plain', Buffer.from('x')],
    ['b64', bin.toString('base64'), 'b64', bin],
    ['base64 with line breaks', 'AAEC\n/wo=\n', 'base64', bin],
    ['gz+b64', gzipSync(bin).toString('base64'), 'gz+b64', bin],
    ['gzip+base64', gzipSync(bin).toString('base64'), 'gzip+base64', bin],
    ['gzip of !!binary', new Uint8Array(gzipSync(bin)), 'gzip', bin],
    ['!!binary', new Uint8Array(bin), undefined, bin],
    ['nothing', undefined, undefined, Buffer.alloc(0)],
  ];
  it.each(cases)('%s', (_, content, enc, want) => {
    expect(fileContent(content, enc).equals(want)).toBe(true);
  });
  it('refuses an unknown encoding', () => {
    expect(() => fileContent('x', 'rot13')).toThrow(/unknown encoding/);
  });
});

describe('commandScript (runcmd, bootcmd)', () => {
  const cases: [unknown, string][] = [
    [['echo a', 'echo b'], '#!/bin/sh\necho a\necho b\n'],
    [[['ls', '-l', '/tmp dir']], "#!/bin/sh\n'ls' '-l' '/tmp dir'\n"],
    [[['echo', '$(id)', "it's"]], "#!/bin/sh\n'echo' '$(id)' 'it'\\''s'\n"],
    ['echo single', '#!/bin/sh\necho single\n'],
    [[null, 42], '#!/bin/sh\n42\n'],
  ];
  it.each(cases)('%j', (v, want) => {
    expect(commandScript(v)).toBe(want);
  });
});

describe('validName', () => {
  it.each([
    ['bob', true],
    ['_svc', true],
    ['web-1.a', true],
    ['machine$', true],
    ['1bob', false],
    ['bob smith', false],
    ['../etc', false],
    ['-o', false],
    ["bob';id;'", false],
    ['a'.repeat(40), false],
    [7, false],
  ])('%j → %j', (name, ok) => {
    expect(validName(name)).toBe(ok);
  });
});

describe('distroOf', () => {
  it('maps built-in sources to distros', () => {
    expect(distroOf('minimal')).toBe('minimal');
    expect(distroOf('debian-12')).toBe('debian');
    expect(distroOf('debian')).toBe('debian');
  });
});

describe('userDataScript: the script text', () => {
  it('is valid sh for every feature at once', () => {
    const script = userDataScript(
      Buffer.from(`#cloud-config
bootcmd: [echo boot]
write_files: [{path: /a, content: x}, {path: /b, content: y, defer: true}]
hostname: h
fqdn: h.example.com
timezone: UTC
groups: [g1, {g2: [u1]}]
users: [default, {name: u1, sudo: ALL=(ALL) ALL, groups: [g1], ssh_authorized_keys: [k1]}]
ssh_authorized_keys: [k2]
packages: [curl, [vim, 2:9.0]]
package_upgrade: true
runcmd: [echo hi, [ls, /]]
power_state: {mode: poweroff, delay: now}
final_message: done
`),
      { sshUser: 'admin', distro: 'debian' },
    );
    expect(spawnSync('sh', ['-n'], { input: script }).status).toBe(0);
    expect(spawnSync('bash', ['--posix', '-n'], { input: script }).status).toBe(0);
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
  });

  it('carries file bodies and scripts only as base64', () => {
    const secret = 'SECRET-$(touch /pwned)-`id`';
    const script = userDataScript(Buffer.from(`#cloud-config\nwrite_files: [{path: /x, content: "${secret}"}]\nruncmd: ["echo ${secret}"]\n`), {
      sshUser: 'ec2-user',
      distro: 'minimal',
    });
    expect(script).not.toContain('SECRET');
    expect(script).toContain(Buffer.from(secret).toString('base64').slice(0, 20));
  });

  it('notes what it skips, and keeps going', () => {
    const script = userDataScript(Buffer.from('#cloud-config\nmounts: [[sdb, /mnt]]\nchpasswd: {list: x}\n'), { sshUser: 'ec2-user', distro: 'minimal' });
    expect(script).toContain(`cu_say 'cloud-config: mounts is not supported; ignored'`);
    expect(script).toContain(`cu_say 'cloud-config: chpasswd is not supported; ignored'`);
  });

  it('says so for user data it cannot read', () => {
    expect(userDataScript(Buffer.from([0x1f, 0x8b, 1, 2, 3]), { sshUser: 'ec2-user', distro: 'minimal' })).toMatch(/user data could not be read/);
  });
});

// ---------------------------------------------------------------------------------------------
// Run for real in a sandbox

needs.describeEach(['minimal', 'debian'] as Distro[])('userDataScript run for real (%s)', (distro) => {
  it('does nothing for empty user data', () => {
    const r = run('', distro);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(files(r.root).sort()).toEqual(['etc/', 'etc/group', 'etc/gshadow', 'etc/passwd', 'etc/shadow', 'home/', `home/${distro === 'minimal' ? 'ec2-user' : 'admin'}/`].sort());
  });

  it('runs a shell script as written, by its #! line', () => {
    const r = run('#!/bin/sh\necho "hello from $0" > "$CUMULO_USERDATA_ROOT/out"\necho to-console\n', distro);
    expect(r.code).toBe(0);
    expect(r.read('out')).toBe(`hello from ${r.root}/var/lib/cloud/instance/scripts/part-001\n`);
    expect(r.out).toContain('to-console');
    expect(modeOf(r, 'var/lib/cloud/instance/scripts/part-001')).toBe('0700');
  });

  needs.and({ other: { '/usr/bin/python3': existsSync('/usr/bin/python3') } }).test('runs a Python script through its interpreter', () => {
    const r = run('#!/usr/bin/python3\nimport os\nopen(os.environ["CUMULO_USERDATA_ROOT"] + "/py", "w").write("from python")\n', distro);
    expect(r.code).toBe(0);
    expect(r.read('py')).toBe('from python');
  });

  it('unpacks gzip user data', () => {
    const r = run(gzipSync('#!/bin/sh\necho zipped > "$CUMULO_USERDATA_ROOT/z"\n'), distro);
    expect(r.read('z')).toBe('zipped\n');
  });

  it('reports a failing script, runs the rest and exits 1', () => {
    const r = run('#cloud-config\nruncmd: ["false", "echo after > $CUMULO_USERDATA_ROOT/after"]\nbootcmd: ["exit 3"]\n', distro);
    expect(r.code).toBe(1);
    expect(r.out).toContain('cumulo-userdata: /var/lib/cloud/instance/boothooks/20-bootcmd: failed (exit code 3)');
    expect(r.read('after')).toBe('after\n');
  });

  it('write_files: encodings, modes, owners, append, defer and paths', () => {
    const bin = Buffer.from([0, 1, 2, 255, 10]);
    const r = run(
      `#cloud-config
write_files:
  - path: /etc/app/conf.ini
    content: |
      [main]
      quote = 'single' "double" $HOME \`id\`
    permissions: '0640'
    owner: root:root
  - path: /opt/data.bin
    encoding: gz+b64
    content: ${gzipSync(bin).toString('base64')}
    permissions: 0600
  - path: /etc/app/conf.ini
    content: "appended\\n"
    permissions: '0640'
    append: true
  - path: relative/../../etc/normalised
    content: n
  - path: /etc/late
    content: late
    defer: true
  - path: /etc/bad
    content: x
    encoding: rot13
  - path: /etc/fetched
    source: {uri: "http://example.com/x"}
`,
      distro,
    );
    expect(r.code).toBe(0);
    expect(r.read('etc/app/conf.ini')).toBe(`[main]\nquote = 'single' "double" $HOME \`id\`\nappended\n`);
    expect(modeOf(r, 'etc/app/conf.ini')).toBe('0640');
    expect(readFileSync(join(r.root, 'opt/data.bin')).equals(bin)).toBe(true);
    expect(modeOf(r, 'opt/data.bin')).toBe('0600');
    expect(r.read('etc/normalised')).toBe('n');
    expect(r.read('etc/late')).toBe('late');
    expect(r.exists('etc/bad')).toBe(false);
    expect(r.out).toContain("write_files /etc/bad: unknown encoding 'rot13'; skipped");
    expect(r.out).toContain('write_files /etc/fetched: source URLs are not supported; skipped');
    // defer: after users (so a deferred file can belong to a new user)
    expect(r.script.indexOf("cu_write '/etc/late'")).toBeGreaterThan(r.script.indexOf('# packages') > 0 ? 0 : r.script.indexOf('# write_files'));
  });

  it('users: default and new users, groups, sudo and keys', () => {
    const r = run(
      `#cloud-config
groups:
  - ops
  - devs: [carol]
users:
  - default
  - name: carol
    gecos: Carol C
    groups: ops, wheel
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/sh
    ssh_authorized_keys:
      - ssh-ed25519 AAAAC3carol carol@laptop
  - name: svc
    system: true
  - name: "bad name; id"
ssh_authorized_keys:
  - ssh-rsa AAAAB3top top@x
`,
      distro,
    );
    expect(r.code).toBe(0);
    const passwd = r.read('etc/passwd');
    expect(passwd).toMatch(/^carol:x:(\d+):(\d+):Carol C:\/home\/carol:\/bin\/sh$/m);
    expect(passwd).toMatch(/^svc:x:/m);
    expect(passwd).not.toMatch(/bad name/);
    expect(r.out).toContain('users: "bad name; id" is not a valid user name; skipped');
    const group = r.read('etc/group');
    expect(group).toMatch(/^ops:x:\d+:carol$/m);
    expect(group).toMatch(/^wheel:x:\d+:carol$/m);
    expect(group).toMatch(/^devs:x:\d+:carol$/m);
    expect(r.read('etc/sudoers.d/90-cloud-init-users')).toContain('carol ALL=(ALL) NOPASSWD:ALL\n');
    expect(modeOf(r, 'etc/sudoers.d/90-cloud-init-users')).toBe('0440');
    expect(r.read('home/carol/.ssh/authorized_keys')).toBe('ssh-ed25519 AAAAC3carol carol@laptop\n');
    expect(modeOf(r, 'home/carol/.ssh')).toBe('0700');
    expect(modeOf(r, 'home/carol/.ssh/authorized_keys')).toBe('0600');
    const uid = /^carol:x:(\d+)/m.exec(passwd)![1];
    expect(String(statSync(join(r.root, 'home/carol/.ssh/authorized_keys')).uid)).toBe(uid);
    const user = distro === 'minimal' ? 'ec2-user' : 'admin';
    expect(r.read(`home/${user}/.ssh/authorized_keys`)).toBe('ssh-rsa AAAAB3top top@x\n');
    expect(statSync(join(r.root, `home/${user}/.ssh/authorized_keys`)).uid).toBe(1000);
    // carol's password is locked, never empty (an empty one would let anyone in)
    expect(r.read('etc/shadow')).toMatch(/^carol:[!*]/m);
  });

  it('users: keys are added once, even when given twice', () => {
    const r = run('#cloud-config\nssh_authorized_keys: [ssh-ed25519 AAAA k, ssh-ed25519 AAAA k]\nusers: [{name: default, ssh_authorized_keys: [ssh-ed25519 AAAA k]}]\n', distro);
    const user = distro === 'minimal' ? 'ec2-user' : 'admin';
    expect(r.read(`home/${user}/.ssh/authorized_keys`)).toBe('ssh-ed25519 AAAA k\n');
  });

  it('hostname and fqdn', () => {
    const r = run('#cloud-config\nhostname: web1\nfqdn: web1.example.com\n', distro);
    expect(r.read('etc/hostname')).toBe('web1\n');
    expect(r.read('etc/hosts')).toBe('127.0.1.1 web1.example.com web1\n');
  });

  it('packages: apt-get on Debian, a message on minimal', () => {
    const r = run('#cloud-config\npackages: [nginx, [python3-flask, "2.2.2-3"]]\n', distro);
    expect(r.code).toBe(0);
    if (distro === 'minimal') expect(r.out).toContain('packages: this image has no package manager; not installed: nginx python3-flask=2.2.2-3');
    else expect(r.out).toContain('sandbox: not running apt-get install nginx python3-flask=2.2.2-3');
  });

  it('MIME multipart: cloud-init order (boothook, bootcmd, write_files, per-boot, scripts, runcmd)', () => {
    const log = '$CUMULO_USERDATA_ROOT/order';
    const b = 'XYZ';
    const part = (type: string, body: string) => `--${b}\nContent-Type: ${type}\n\n${body}\n`;
    const data = [
      `Content-Type: multipart/mixed; boundary="${b}"\nMIME-Version: 1.0\n\n`,
      part('text/x-shellscript', `#!/bin/sh\necho script >> ${log}`),
      part('text/cloud-config', `#cloud-config\nbootcmd: ["echo bootcmd >> ${log}"]\nruncmd: ["echo runcmd >> ${log}"]\nwrite_files: [{path: /wf, content: x}]`),
      part('text/cloud-boothook', `#cloud-boothook\n#!/bin/sh\necho boothook >> ${log}; [ -e "$CUMULO_USERDATA_ROOT/wf" ] || echo before-write-files >> ${log}`),
      part('text/x-shellscript-per-boot', `#!/bin/sh\necho per-boot >> ${log}`),
      part('text/x-include-url', 'http://169.254.169.254/never'),
      `--${b}--\n`,
    ].join('');
    const r = run(data, distro);
    expect(r.code).toBe(0);
    expect(r.read('order').split('\n')).toEqual(['boothook', 'before-write-files', 'bootcmd', 'per-boot', 'script', 'runcmd', '']);
    expect(r.out).toContain('text/x-include-url is not supported');
    expect(r.exists('var/lib/cloud/instance/boothooks/10-part-003')).toBe(true);
    expect(r.exists('var/lib/cloud/instance/boothooks/20-bootcmd')).toBe(true);
    expect(r.exists('var/lib/cloud/scripts/per-boot/part-004')).toBe(true);
  });

  it('cloud-config-archive', () => {
    const r = run(
      `#cloud-config-archive\n- type: text/x-shellscript\n  content: |\n    #!/bin/sh\n    echo one > "$CUMULO_USERDATA_ROOT/one"\n- "#cloud-config\\nruncmd: ['echo two > $CUMULO_USERDATA_ROOT/two']"\n`,
      distro,
    );
    expect(r.code).toBe(0);
    expect(r.read('one')).toBe('one\n');
    expect(r.read('two')).toBe('two\n');
  });

  it('YAML 1.1 like cloud-init (0644 is octal, y is a string), invalid YAML is reported', () => {
    const ok = run('#cloud-config\nwrite_files: [{path: /m, content: x, permissions: 0604}, {path: /y, content: y}, {path: /on, content: on}]\n', distro);
    expect(modeOf(ok, 'm')).toBe('0604');
    expect(ok.read('y')).toBe('y');
    expect(ok.read('on')).toBe('true');
    const bad = run('#cloud-config\nruncmd: [unclosed\n', distro);
    expect(bad.code).toBe(0);
    expect(bad.out).toMatch(/the cloud-config is not valid YAML/);
  });

  it('shell-quoting attacks reach nothing but the files they name', () => {
    const r = run(
      `#cloud-config
write_files:
  - path: "/etc/x'; touch pwned1; echo '"
    content: "CUMULO_B64\\n$(touch $CUMULO_USERDATA_ROOT/pwned2)\\n'"
    owner: "root:root; touch $CUMULO_USERDATA_ROOT/pwned3"
  - path: /etc/y
    content: z
    permissions: "0644; touch /pwned4"
users:
  - name: "x$(touch pwned5)"
  - name: dave
    gecos: "Dave'; touch pwned6; '"
    shell: "/bin/sh'; touch pwned7; '"
    sudo: "ALL=(ALL) ALL'; touch pwned8; '"
    ssh_authorized_keys: ["ssh-rsa AAAA $(touch pwned9)"]
    groups: ["g; touch pwned10"]
hostname: "h; touch pwned11"
packages: ["curl; touch pwned12"]
timezone: "../../etc/passwd"
runcmd:
  - [echo, "$(touch $CUMULO_USERDATA_ROOT/pwned13)", "';touch pwned14;'"]
`,
      distro,
    );
    const found = files(r.root).filter((f) => f.includes('pwned') && !f.startsWith('etc/x'));
    expect(found).toEqual([]);
    // The odd path is written exactly where it says (inside the sandbox), with its odd content.
    const odd = files(join(r.root, 'etc')).find((f) => f.startsWith('x'));
    expect(odd).toBe(`x'; touch pwned1; echo '`);
    expect(r.read(`etc/${odd}`)).toBe(`CUMULO_B64\n$(touch $CUMULO_USERDATA_ROOT/pwned2)\n'`);
    expect(r.out).toContain('bad permissions');
    // dave was made with his odd (quoted) fields; the owner that is not a user fails loudly
    expect(r.read('etc/passwd')).toMatch(/^dave:/m);
    expect(r.code).toBe(1);
  });
});
