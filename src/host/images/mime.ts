// User data as cloud-init reads it: gzip'd or not, a MIME multipart archive or a single part whose
// type is told by its first line. Pure: bytes in, typed parts out.
import { gunzipSync } from 'node:zlib';

export type PartKind =
  | 'shellscript' // text/x-shellscript, or "#!"
  | 'cloud-config' // text/cloud-config, or "#cloud-config"
  | 'boothook' // text/cloud-boothook, or "#cloud-boothook": every boot, early
  | 'per-boot' // text/x-shellscript-per-boot
  | 'per-instance' // text/x-shellscript-per-instance
  | 'per-once' // text/x-shellscript-per-once
  | 'include-url' // text/x-include-url, "#include": would fetch URLs
  | 'part-handler' // text/part-handler: Python run inside cloud-init
  | 'jinja' // "## template: jinja"
  | 'archive' // text/cloud-config-archive, "#cloud-config-archive": a YAML list of parts
  | 'unknown';

export interface Part {
  kind: PartKind;
  /** Content-Type as given, or the one guessed from the first line. */
  contentType: string;
  filename?: string;
  content: Buffer;
}

/** EC2 caps user data at 16 KB; a decompressed part may be larger, but not without bound. */
const MAX_INFLATED = 16 * 1024 * 1024;

const byType: Record<string, PartKind> = {
  'text/x-shellscript': 'shellscript',
  'text/cloud-config': 'cloud-config',
  'text/cloud-boothook': 'boothook',
  'text/x-shellscript-per-boot': 'per-boot',
  'text/x-shellscript-per-instance': 'per-instance',
  'text/x-shellscript-per-once': 'per-once',
  'text/x-include-url': 'include-url',
  'text/x-include-once-url': 'include-url',
  'text/part-handler': 'part-handler',
  'text/jinja2': 'jinja',
  'text/cloud-config-archive': 'archive',
};

// cloud-init's "starts with" table (user_data.py / handlers INCLUSION_TYPES_MAP).
const byPrefix: [string, PartKind, string][] = [
  ['#!', 'shellscript', 'text/x-shellscript'],
  ['#cloud-config-archive', 'archive', 'text/cloud-config-archive'],
  ['#cloud-config', 'cloud-config', 'text/cloud-config'],
  ['#cloud-boothook', 'boothook', 'text/cloud-boothook'],
  ['#include-once', 'include-url', 'text/x-include-once-url'],
  ['#include', 'include-url', 'text/x-include-url'],
  ['#part-handler', 'part-handler', 'text/part-handler'],
  ['## template: jinja', 'jinja', 'text/jinja2'],
];

export function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

export function gunzip(b: Buffer): Buffer {
  return gunzipSync(b, { maxOutputLength: MAX_INFLATED });
}

/** The parts of user data, in order. Throws only on malformed gzip. */
export function parseUserData(data: Buffer): Part[] {
  if (isGzip(data)) data = gunzip(data);
  if (data.length === 0) return [];
  if (looksLikeMime(data)) return mimeParts(data.toString('latin1'), 0);
  return [sniff(data)];
}

/** cloud-init parses as MIME when the head mentions "mime-version:"; a bare Content-Type header also counts. */
function looksLikeMime(b: Buffer): boolean {
  const head = b.subarray(0, 4096).toString('latin1').toLowerCase();
  return head.includes('mime-version:') || /^content-type:/.test(head);
}

/** A single part whose type is told by its first line. */
export function sniff(content: Buffer, filename?: string): Part {
  const head = content.subarray(0, 64).toString('latin1');
  for (const [prefix, kind, contentType] of byPrefix) {
    if (head.startsWith(prefix)) return { kind, contentType, content, ...(filename ? { filename } : {}) };
  }
  return { kind: 'unknown', contentType: 'text/x-not-multipart', content, ...(filename ? { filename } : {}) };
}

/** A part given by content and an optional MIME type (cloud-config-archive items). */
export function partOf(content: Buffer, contentType?: string, filename?: string): Part {
  const kind = contentType ? byType[contentType.toLowerCase()] : undefined;
  if (kind) return { kind, contentType: contentType!.toLowerCase(), content, ...(filename ? { filename } : {}) };
  return sniff(content, filename);
}

interface Headers {
  [name: string]: string;
}

function splitHead(s: string): { headers: Headers; body: string } {
  const m = /\r?\n\r?\n/.exec(s);
  const head = m ? s.slice(0, m.index) : s;
  const body = m ? s.slice(m.index + m[0].length) : '';
  const headers: Headers = {};
  // RFC 5322 unfolding: a line starting with white space continues the previous header.
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

/** "text/plain; charset=us-ascii; boundary="x"" → type and lower-cased parameter names. */
export function parseContentType(v: string | undefined): { type: string; params: Record<string, string> } {
  if (!v) return { type: '', params: {} };
  const [type = '', ...rest] = splitParams(v);
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    let val = p.slice(i + 1).trim();
    if (val.startsWith('"') && val.endsWith('"') && val.length >= 2) val = val.slice(1, -1).replace(/\\(.)/g, '$1');
    params[p.slice(0, i).trim().toLowerCase()] = val;
  }
  return { type: type.trim().toLowerCase(), params };
}

/** Split on ';' outside double quotes. */
function splitParams(v: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '"') quoted = !quoted;
    if (c === '\\' && quoted && i + 1 < v.length) {
      cur += c + v[++i];
      continue;
    }
    if (c === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function decodeBody(body: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=_-]/g, ''), 'base64');
    case 'quoted-printable':
      return Buffer.from(
        body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      );
    default:
      return Buffer.from(body, 'latin1');
  }
}

function mimeParts(s: string, depth: number): Part[] {
  const { headers, body } = splitHead(s);
  const ct = parseContentType(headers['content-type']);
  if (ct.type.startsWith('multipart/')) {
    const boundary = ct.params.boundary;
    if (!boundary || depth > 8) return [];
    return splitMultipart(body, boundary).flatMap((p) => mimeParts(p, depth + 1));
  }
  const filename = parseContentType(`x; ${(headers['content-disposition'] ?? '').replace(/^[^;]*;?/, '')}`).params.filename;
  let content = decodeBody(body, headers['content-transfer-encoding']);
  let type = ct.type;
  // A gzip'd part is unpacked and its type guessed again, as cloud-init does.
  if (type === 'application/gzip' || type === 'application/x-gzip' || (isGzip(content) && !byType[type])) {
    content = gunzip(content);
    type = '';
  }
  const kind = byType[type];
  if (kind) return [{ kind, contentType: type, content, ...(filename ? { filename } : {}) }];
  // text/plain, text/x-not-multipart, no type: cloud-init guesses from the first line.
  return [sniff(content, filename)];
}

/** The bodies between "--boundary" delimiter lines (RFC 2046 §5.1.1). */
function splitMultipart(body: string, boundary: string): string[] {
  const delim = `--${boundary}`;
  const lines = body.split(/(?<=\n)/); // keep line ends
  const parts: string[] = [];
  let cur: string[] | undefined;
  for (const line of lines) {
    const bare = line.replace(/[ \t]*\r?\n$/, '');
    if (bare === delim || bare === `${delim}--`) {
      if (cur) parts.push(stripLastNewline(cur.join('')));
      if (bare.endsWith('--') && bare !== delim) return parts;
      cur = [];
      continue;
    }
    cur?.push(line);
  }
  if (cur && cur.length) parts.push(stripLastNewline(cur.join('')));
  return parts;
}

/** The line break before a delimiter belongs to the delimiter. */
function stripLastNewline(s: string): string {
  return s.replace(/\r?\n$/, '');
}
