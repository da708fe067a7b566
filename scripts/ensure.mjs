// Makes a fresh clone ready to run: Debian packages, npm dependencies, the build.
// Used by `npm start` and `npm test`; does only what is missing, so it is cheap the second time.
// Plain Node, no dependencies: it runs before `npm install`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function log(msg) {
  process.stderr.write(`cumulo setup: ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${r.status}`);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Node flags for the server process. A Describe of thousands of resources allocates tens of MB of
 * short-lived objects; a larger young generation halves the time spent collecting them (measured:
 * DescribeInstances of 1,000 instances, 60 → 48 ms server-side).
 */
export const serverNodeFlags = ['--max-semi-space-size=64'];

/** Debian packages the product needs on the host, by the command that proves each is there. */
export const hostPackages = {
  runc: 'runc', // the default instance driver
  nft: 'nftables', // metadata redirect, anti-spoofing, security groups
  ip: 'iproute2', // namespaces, veths, routes
  'mkfs.xfs': 'xfsprogs', // the copy-on-write volume store (reflink)
  'mkfs.ext4': 'e2fsprogs', // root filesystems of images and volumes
  losetup: 'mount', // loop devices of volumes and instance-store disks (util-linux)
  debootstrap: 'debootstrap', // the Debian 12 image
  busybox: 'busybox-static', // the minimal image
  dropbear: 'dropbear-bin', // SSH in the minimal image
  sudo: 'sudo', // passwordless sudo in the minimal image
  conmon: 'conmon', // the per-instance monitor of the runc driver: reaps the instance's init, records its exit status
  'qemu-storage-daemon': 'qemu-system-common', // encrypted EBS volumes: LUKS served through FUSE (no dm-crypt here)
  'qemu-img': 'qemu-utils', // making and growing LUKS volume images
  fusermount3: 'fuse3', // FUSE exports of qemu-storage-daemon
  lxcfs: 'lxcfs', // each instance's own /proc/meminfo, uptime, cpuinfo, stat, loadavg (runc driver)
  openssl: 'openssl', // the state folder's CA and the API's HTTPS certificate (src/host/tls)
  haproxy: 'haproxy', // the load balancers' engine for HTTP, HTTPS, TCP and TLS, and every health check (src/host/load-balancing)
};

/** Extra packages only the test suite needs. */
export const testPackages = {
  aws: 'awscli',
  curl: 'curl',
  ssh: 'openssh-client',
  python3: 'python3', // expat, the strict XML parser the AWS CLI uses (test/xml-strict.ts)
};

/** Extra packages of the benchmarks, ensured by the benchmark that needs them. */
export const benchPackages = {
  iperf3: 'iperf3', // bench:net: TCP throughput through the VPC data plane
};

let aptUpdated = false;
export function ensurePackages(wanted) {
  const missing = Object.entries(wanted)
    .filter(([cmd]) => !has(cmd))
    .map(([, pkg]) => pkg);
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages (${missing.join(' ')}); run as root or install them`);
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq'], { env });
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function ensureDependencies() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  const stale =
    !existsSync(marker) || statSync(join(root, 'package.json')).mtimeMs > statSync(marker).mtimeMs || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
  if (!stale) return;
  log('installing npm dependencies (better-sqlite3 builds from source on first install: about a minute)');
  run('npm', [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund']);
}

export function ensureBuild() {
  const out = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(out) && statSync(out).mtimeMs >= Math.max(newest(join(root, 'src')), statSync(join(root, 'package.json')).mtimeMs)) return;
  log('building');
  run(process.execPath, [join(root, 'node_modules', 'typescript-go', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
  // tsc leaves an unchanged file's mtime alone; touch the marker so the next check is cheap.
  execFileSync('touch', [out]);
}

export function ensureAll({ forTests = false } = {}) {
  ensurePackages(forTests ? { ...hostPackages, ...testPackages } : hostPackages);
  ensureDependencies();
  ensureBuild();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureAll({ forTests: process.argv.includes('--tests') });
}
