// The API's HTTPS certificate. By default each state folder has its own certificate authority,
// made on first start and kept (tls/ca.pem, tls/ca.key 0600), which signs a server certificate for
// the names clients use to reach the API (tls/server.pem, tls/server.key 0600); clients trust the
// CA through AWS_CA_BUNDLE. An operator can give their own certificate and key instead.
//
// The keys are Node's; the certificates are written by the openssl command line (no X.509 writer
// ships with Node), and Node's X509Certificate reads them back to decide whether they still fit.
import { X509Certificate, createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { exec } from '../exec.js';

export interface ServerTls {
  /** The server's private key and its certificate chain (PEM), for tls.createServer. */
  key: Buffer;
  cert: Buffer;
  /** The CA file clients verify against (AWS_CA_BUNDLE); undefined for an operator's certificate. */
  caFile?: string;
  /** The names and addresses the certificate is valid for. */
  names: string[];
}

export interface TlsOptions {
  /** The state folder: its tls/ holds the CA and the server certificate. */
  home: string;
  /** DNS names and IP addresses the server certificate must carry. */
  names: string[];
  /** The operator's own certificate chain and key (PEM files): used as they are. */
  certFile?: string;
  keyFile?: string;
  log?: (line: string) => void;
}

/** The folder of a state folder's CA and server certificate. */
export function tlsDir(home: string): string {
  return join(home, 'tls');
}

/** Where a state folder's CA certificate is (AWS_CA_BUNDLE). */
export function caFileOf(home: string): string {
  return join(tlsDir(home), 'ca.pem');
}

const CA_DAYS = 3650;
/** Under 398 days, the most clients accept for a server certificate. */
const SERVER_DAYS = 397;
/** A server certificate this close to its end is made again at start. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** The server's key and certificate: the operator's, or this state folder's, made or renewed as needed. */
export async function serverTls(opts: TlsOptions): Promise<ServerTls> {
  if (opts.certFile || opts.keyFile) return operatorTls(opts);
  const dir = tlsDir(opts.home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caPem = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  if (!existsSync(caPem) || !existsSync(caKey)) {
    await makeCa(dir);
    opts.log?.(`cumulo: made a certificate authority for this state folder: ${caPem}`);
  }
  const ca = new X509Certificate(readFileSync(caPem));
  if (!ca.checkPrivateKey(createPrivateKey(readFileSync(caKey)))) throw new Error(`${caKey} is not the key of ${caPem}`);
  const names = [...new Set(opts.names)];
  const serverPem = join(dir, 'server.pem');
  const serverKey = join(dir, 'server.key');
  const why = serverCertStale(serverPem, serverKey, ca, names);
  if (why) {
    await makeServerCert(dir, names);
    opts.log?.(`cumulo: made the API's server certificate (${why}) for ${names.join(', ')}`);
  }
  return { key: readFileSync(serverKey), cert: readFileSync(serverPem), caFile: caPem, names };
}

function operatorTls(opts: TlsOptions): ServerTls {
  if (!opts.certFile || !opts.keyFile) throw new Error('CUMULO_TLS_CERT and CUMULO_TLS_KEY go together: give both, or neither');
  const cert = readFileSync(opts.certFile);
  const key = readFileSync(opts.keyFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (e) {
    throw new Error(`CUMULO_TLS_CERT ${opts.certFile} is not a PEM certificate: ${(e as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw new Error(`CUMULO_TLS_KEY ${opts.keyFile} is not a PEM private key: ${(e as Error).message}`);
  }
  if (!matches) throw new Error(`CUMULO_TLS_KEY ${opts.keyFile} is not the key of the certificate in CUMULO_TLS_CERT ${opts.certFile}`);
  return { key, cert, names: sansOf(leaf) };
}

/** Why the server certificate must be made again, or undefined when it still fits. */
function serverCertStale(pemFile: string, keyFile: string, ca: X509Certificate, names: string[]): string | undefined {
  if (!existsSync(pemFile) || !existsSync(keyFile)) return 'first start';
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(readFileSync(pemFile));
    if (!leaf.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) return 'its key did not match';
  } catch {
    return 'the old one did not parse';
  }
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'the old one was not signed by this CA';
  if (new Date(leaf.validTo).getTime() - Date.now() < RENEW_BEFORE_MS) return 'the old one expires soon';
  const have = new Set(sansOf(leaf));
  const missing = names.filter((n) => !have.has(n));
  if (missing.length) return `new names: ${missing.join(', ')}`;
  return undefined;
}

/** DNS names and IP addresses of a certificate's subjectAltName, as given to serverTls. */
function sansOf(cert: X509Certificate): string[] {
  const out: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim());
    if (m) out.push(m[1] === 'IP Address' ? normalizeIp(m[2]!) : m[2]!);
  }
  return out;
}

/** Node prints IPv6 SANs in full (0:0:0:0:0:0:0:1); compare them compressed (::1). */
function normalizeIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** openssl's configuration for both certificates, written per run: nothing from the system's openssl.cnf. */
function opensslConfig(names: string[]): string {
  const alt = names.map((n, i) => (isIP(n) ? `IP.${i + 1} = ${n}` : `DNS.${i + 1} = ${n}`));
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    '[ca]',
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '[server]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid, issuer',
    ...(alt.length ? ['subjectAltName = @alt', '[alt]', ...alt] : []),
    '',
  ].join('\n');
}

const serial = () =>
  '0x' +
  randomBytes(16)
    .toString('hex')
    .replace(/^./, (c) => (parseInt(c, 16) & 7).toString(16));

/** A new CA, made in a scratch folder and moved into place key first, so a crash never pairs the wrong halves. */
async function makeCa(dir: string): Promise<void> {
  const work = mkdtempSync(join(dir, '.ca-'));
  try {
    const cfg = join(work, 'openssl.cnf');
    writeFileSync(cfg, opensslConfig([]));
    const key = join(work, 'ca.key');
    const pem = join(work, 'ca.pem');
    await newKey(key);
    // A random part in the name, so two state folders' CAs are told apart in a trust store.
    const cn = `cumulo local CA ${randomBytes(4).toString('hex')}`;
    await exec(
      'openssl',
      [
        'req',
        '-config',
        cfg,
        '-new',
        '-x509',
        '-key',
        key,
        '-out',
        pem,
        '-days',
        String(CA_DAYS),
        '-subj',
        `/O=cumulo/CN=${cn}`,
        '-extensions',
        'ca',
        '-set_serial',
        serial(),
        '-sha256',
      ],
      { timeoutMs: 60_000 },
    );
    chmodSync(pem, 0o600); // public, but the state folder keeps nothing readable by others (copy it for another user)
    renameSync(key, join(dir, 'ca.key'));
    renameSync(pem, join(dir, 'ca.pem'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function makeServerCert(dir: string, names: string[]): Promise<void> {
  const work = mkdtempSync(join(dir, '.server-'));
  try {
    const cfg = join(work, 'openssl.cnf');
    writeFileSync(cfg, opensslConfig(names));
    const key = join(work, 'server.key');
    const csr = join(work, 'server.csr');
    const pem = join(work, 'server.pem');
    await newKey(key);
    const cn = names.find((n) => !isIP(n)) ?? names[0] ?? 'cumulo';
    await exec('openssl', ['req', '-config', cfg, '-new', '-key', key, '-out', csr, '-subj', `/O=cumulo/CN=${escapeDn(cn)}`], { timeoutMs: 60_000 });
    await exec(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        join(dir, 'ca.pem'),
        '-CAkey',
        join(dir, 'ca.key'),
        '-set_serial',
        serial(),
        '-days',
        String(SERVER_DAYS),
        '-sha256',
        '-extfile',
        cfg,
        '-extensions',
        'server',
        '-out',
        pem,
      ],
      { timeoutMs: 60_000 },
    );
    // The chain the server sends: its certificate, then the CA's.
    writeFileSync(pem, Buffer.concat([readFileSync(pem), readFileSync(join(dir, 'ca.pem'))]));
    chmodSync(pem, 0o600); // public, but the state folder keeps nothing readable by others (copy it for another user)
    renameSync(key, join(dir, 'server.key'));
    renameSync(pem, join(dir, 'server.pem'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A P-256 key, made by Node (one openssl process fewer), written 0600. */
async function newKey(file: string): Promise<void> {
  const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}

/** openssl's -subj syntax: '/' and '=' (and '\') in a value are escaped. */
function escapeDn(v: string): string {
  return v.replace(/[\\/=+,]/g, (c) => `\\${c}`);
}
