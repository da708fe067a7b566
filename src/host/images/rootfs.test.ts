import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guestDir, guestSymlink, resolveInRoot, writeGuestFile } from './rootfs.js';

let base: string;
let root: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'cumulo-rootfs-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host file');
  symlinkSync('usr/sbin', join(root, 'sbin')); // relative, like Debian's
  symlinkSync('/etc', join(root, 'abs-etc')); // absolute: the guest's /etc, not the host's
  symlinkSync('../../../../../..' + outside, join(root, 'escape')); // tries to climb out
  symlinkSync(outside + '/secret', join(root, 'etc/hostname')); // what root in an instance could do
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('resolveInRoot', () => {
  const cases: [string, string, boolean?][] = [
    ['/sbin/init', 'usr/sbin/init'],
    ['sbin/init', 'usr/sbin/init'],
    ['/abs-etc/passwd', 'etc/passwd'],
    ['/../../etc/passwd', 'etc/passwd'],
    ['/escape/secret', 'HOST-OUTSIDE/secret'], // climbs to the root's /, then down inside it
    ['/etc/hostname', 'etc/hostname'], // the last component is not followed
    ['/sbin', 'usr/sbin', true],
  ];
  it.each(cases)('%s', (p, want, follow) => {
    expect(resolveInRoot(root, p, { followLast: follow })).toBe(join(root, want.replace('HOST-OUTSIDE', outside.slice(1))));
  });

  it('stops at symlink loops', () => {
    expect(() => resolveInRoot(root, '/loop-a/x')).toThrow(/too many symlinks/);
  });
});

describe('writeGuestFile', () => {
  it('writes through guest symlinks inside the root', () => {
    writeGuestFile(root, '/sbin/init', { content: '#!/bin/sh\n', mode: 0o755 });
    expect(readFileSync(join(root, 'usr/sbin/init'), 'utf8')).toBe('#!/bin/sh\n');
    expect(statSync(join(root, 'usr/sbin/init')).mode & 0o777).toBe(0o755);
  });

  it('replaces a symlink instead of writing through it', () => {
    writeGuestFile(root, '/etc/hostname', 'ip-172-31-0-5.ec2.internal\n');
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host file');
    expect(lstatSync(join(root, 'etc/hostname')).isFile()).toBe(true);
  });

  it('never leaves the root through an absolute or climbing link', () => {
    writeGuestFile(root, '/escape/secret', 'x');
    writeGuestFile(root, '/abs-etc/new', 'y');
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host file');
    expect(existsSync('/etc/new')).toBe(false);
    expect(readFileSync(join(root, outside.slice(1), 'secret'), 'utf8')).toBe('x');
    expect(readFileSync(join(root, 'etc/new'), 'utf8')).toBe('y');
  });

  it('makes parent folders and applies mode and owner, whatever the umask', () => {
    writeGuestFile(root, '/var/lib/cumulo/ssh-user', { content: 'ec2-user\n', mode: 0o600, uid: 1000, gid: 1000 });
    const st = statSync(join(root, 'var/lib/cumulo/ssh-user'));
    expect(st.mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });
});

describe('guestSymlink and guestDir', () => {
  it('replaces what is there and resolves parents in the root', () => {
    writeFileSync(join(root, 'usr/sbin/poweroff'), 'old');
    guestSymlink(root, '/sbin/poweroff', '/usr/lib/cumulo/shutdown');
    expect(readlinkSync(join(root, 'usr/sbin/poweroff'))).toBe('/usr/lib/cumulo/shutdown');
    guestDir(root, '/abs-etc/sudoers.d', 0o750);
    expect(statSync(join(root, 'etc/sudoers.d')).mode & 0o7777).toBe(0o750);
    guestDir(root, '/tmp', 0o1777);
    expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
  });
});

describe('under the server umask (0077)', () => {
  let old: number;
  beforeEach(() => {
    old = process.umask(0o077);
  });
  afterEach(() => {
    process.umask(old);
  });

  it('makes the folders it creates 0755 and gives files their own modes', () => {
    chmodSync(join(root, 'etc'), 0o750); // already there: left as it is
    writeGuestFile(root, '/var/lib/cloud/instance/user-data.txt', { content: 'x', mode: 0o600 });
    writeGuestFile(root, '/etc/hostname', { content: 'h\n', mode: 0o644 });
    guestDir(root, '/usr/lib/x86_64-linux-gnu/security');
    guestDir(root, '/home/ec2-user', 0o700);
    for (const d of ['var', 'var/lib', 'var/lib/cloud', 'var/lib/cloud/instance', 'usr/lib', 'usr/lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu/security', 'home']) {
      expect(statSync(join(root, d)).mode & 0o7777, d).toBe(0o755);
    }
    expect(statSync(join(root, 'home/ec2-user')).mode & 0o7777).toBe(0o700);
    expect(statSync(join(root, 'etc')).mode & 0o7777).toBe(0o750);
    expect(statSync(join(root, 'etc/hostname')).mode & 0o7777).toBe(0o644);
    expect(statSync(join(root, 'var/lib/cloud/instance/user-data.txt')).mode & 0o7777).toBe(0o600);
  });
});
