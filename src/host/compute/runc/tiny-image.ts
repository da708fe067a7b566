// A tiny bootable image for the runc driver's system tests: busybox and the guest init, made in a
// second (no wait for the built-in images). Tests only.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const guest = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'images', 'guest');

/** busybox, the guest init and its shutdown commands: enough to boot, reboot and power off. */
export function tinyImage(dir: string): string {
  const root = join(dir, 'root');
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'var/log', 'var/lib', 'mnt', 'usr/bin', 'usr/sbin'])
    mkdirSync(join(root, d), { recursive: true });
  copyFileSync(execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim(), join(root, 'bin', 'busybox'));
  execFileSync('chroot', [root, '/bin/busybox', '--install', '-s']);
  for (const cmd of ['poweroff', 'reboot', 'halt', 'init']) rmSync(join(root, 'sbin', cmd), { force: true });
  copyFileSync(join(guest, 'init.sh'), join(root, 'sbin', 'init'));
  for (const cmd of ['poweroff', 'reboot', 'halt']) copyFileSync(join(guest, 'shutdown.sh'), join(root, 'sbin', cmd));
  execFileSync('chmod', ['755', join(root, 'sbin', 'init'), join(root, 'sbin', 'poweroff'), join(root, 'sbin', 'reboot'), join(root, 'sbin', 'halt')]);
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(root, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\n');
  const image = join(dir, 'tiny.raw');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', root, image, '64M']);
  return image;
}
