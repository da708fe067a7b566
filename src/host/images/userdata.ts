// User data → one POSIX sh script, made on the host (pure) and run once by the guest init, as root,
// at first boot. It does what cloud-init would do with the same user data, in cloud-init's order:
//   boothooks and bootcmd → write_files → hostname → groups, users, ssh_authorized_keys →
//   packages → deferred write_files → per-boot scripts → scripts (parts, then runcmd) → power_state
// Everything the user gave reaches the script as base64 (file bodies, scripts) or single-quoted
// words (names, paths, modes), never interpolated raw.
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { gunzip, isGzip, parseUserData, partOf, type Part } from './mime.js';

export type Distro = 'minimal' | 'debian';

export interface UserDataOptions {
  /** The image's default user ("default" in users:, top-level ssh_authorized_keys). */
  sshUser: string;
  distro: Distro;
}

/** The distro of a built-in image source ('minimal', 'debian-12', …). */
export function distroOf(builtin: string): Distro {
  return builtin === 'minimal' ? 'minimal' : 'debian';
}

/** Where the pieces go inside the guest: cloud-init's own folders. */
export const guestPaths = {
  instance: '/var/lib/cloud/instance',
  scripts: '/var/lib/cloud/instance/scripts',
  boothooks: '/var/lib/cloud/instance/boothooks',
  perBoot: '/var/lib/cloud/scripts/per-boot',
  sudoers: '/etc/sudoers.d/90-cloud-init-users',
} as const;

// ---------------------------------------------------------------------------------------------
// Quoting

/** One shell word, single-quoted (NUL cannot travel in an argument: dropped). */
export function sq(s: string): string {
  return `'${s.replace(/\0/g, '').replace(/'/g, `'\\''`)}'`;
}

/** Bytes as a quoted here-document of base64: nothing in it can end it early or expand. */
function heredoc(b: Buffer | string): string {
  const b64 = Buffer.from(b).toString('base64');
  const lines = b64.match(/.{1,76}/g) ?? [];
  return `<<'CUMULO_B64'\n${lines.join('\n')}${lines.length ? '\n' : ''}CUMULO_B64`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

/** A user or group name useradd would take; anything else (spaces, slashes, options) is refused. */
export function validName(n: unknown): n is string {
  return typeof n === 'string' && NAME.test(n);
}

// ---------------------------------------------------------------------------------------------
// The runtime helpers every generated script starts with (busybox ash and dash alike).

const prelude = `#!/bin/sh
# This instance's user data, made into one script by cumulo (src/host/images/userdata.ts).
# The guest init runs it once, as root, at first boot; its output goes to the console and to
# /var/log/cloud-init-output.log. CUMULO_USERDATA_ROOT (tests only) puts every path under a folder.
R=\${CUMULO_USERDATA_ROOT:-}
CU_RC=0
cu_say() { printf 'cumulo-userdata: %s\\n' "$*"; }
cu_fail() { cu_say "$1: failed (exit code $2)"; CU_RC=1; }
cu_check() { cu_rc=$?; [ "$cu_rc" -eq 0 ] || cu_fail "$1" "$cu_rc"; }
# cu_exec FILE: a script by its #! line, with sh when it has none.
cu_exec() {
  chmod 700 "$1" || return
  cu_first=
  IFS= read -r cu_first < "$1" || :
  case $cu_first in
    '#!'*) "$1" ;;
    *) sh "$1" ;;
  esac
}
# cu_put FILE MODE < base64
cu_put() { mkdir -p "$(dirname "$1")" && base64 -d > "$1" && chmod "$2" "$1"; }
# cu_run_dir DIR: every script in DIR, in name order, as run-parts would.
cu_run_dir() {
  for cu_f in "$1"/*; do
    [ -f "$cu_f" ] || continue
    cu_say "running \${cu_f#"$R"}"
    cu_exec "$cu_f"
    cu_check "\${cu_f#"$R"}"
  done
}
# cu_write PATH MODE OWNER APPEND < base64
cu_write() {
  cu_p=$R$1
  mkdir -p "$(dirname "$cu_p")" || return
  if [ "$4" = 1 ]; then base64 -d >> "$cu_p"; else base64 -d > "$cu_p"; fi || return
  chmod "$2" "$cu_p" && chown "$3" "$cu_p"
}
# cu_apt ARGS…: apt-get, never in a test sandbox (it would be the host's).
cu_apt() {
  if [ -n "$R" ]; then cu_say "sandbox: not running apt-get $*"; return 0; fi
  DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Options::=--force-confold -y -q "$@"
}
# cu_pw NAME FIELD: a field of NAME's passwd line (3 uid, 4 gid, 6 home).
cu_pw() { awk -F: -v u="$1" -v f="$2" '$1 == u { print $f; exit }' "$R/etc/passwd"; }
cu_has_user() { [ -n "$(cu_pw "$1" 1)" ]; }
cu_has_group() { awk -F: -v g="$1" '$1 == g { f = 1 } END { exit !f }' "$R/etc/group"; }
cu_gid() { awk -F: -v g="$1" '$1 == g { print $3; exit }' "$R/etc/group"; }
# cu_free_id FILE: the first id from 1000 up that FILE (passwd or group) does not use.
cu_free_id() { awk -F: '{ used[$3] = 1 } END { for (i = 1000; i in used; i++); print i }' "$1"; }
# cu_edit FILE AWK-PROGRAM ARGS…: rewrite FILE in place (same inode, same mode).
cu_edit() {
  cu_e=$1; shift
  awk -F: -v OFS=: "$@" "$cu_e" > "$cu_e.cumulo" && cat "$cu_e.cumulo" > "$cu_e" && rm -f "$cu_e.cumulo"
}
# cu_group NAME: the group, made unless it exists.
cu_group() {
  cu_has_group "$1" && return 0
  if command -v groupadd >/dev/null 2>&1; then groupadd \${R:+--prefix "$R"} "$1"; return; fi
  printf '%s:x:%s:\\n' "$1" "$(cu_free_id "$R/etc/group")" >> "$R/etc/group" || return
  [ ! -f "$R/etc/gshadow" ] || printf '%s:!::\\n' "$1" >> "$R/etc/gshadow"
}
# cu_member GROUP USER
cu_member() {
  cu_group "$1" || return
  if command -v usermod >/dev/null 2>&1; then usermod \${R:+--prefix "$R"} -a -G "$1" "$2"; return; fi
  cu_edit "$R/etc/group" -v g="$1" -v u="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) { print; next }; $4 = ($4 == "" ? u : $4 "," u) } { print }'
}
# cu_adduser NAME UID HOME SHELL GECOS GROUP NOHOME: without useradd (the minimal image).
cu_adduser() {
  cu_uid=\${2:-$(cu_free_id "$R/etc/passwd")}
  if [ -n "$6" ]; then
    cu_group "$6" || return
    cu_g=$(cu_gid "$6")
  else
    if ! cu_has_group "$1"; then
      cu_g=$cu_uid
      awk -F: -v id="$cu_g" '$3 == id { f = 1 } END { exit !f }' "$R/etc/group" && cu_g=$(cu_free_id "$R/etc/group")
      printf '%s:x:%s:\\n' "$1" "$cu_g" >> "$R/etc/group" || return
    fi
    cu_g=$(cu_gid "$1")
  fi
  printf '%s:x:%s:%s:%s:%s:%s\\n' "$1" "$cu_uid" "$cu_g" "$5" "$3" "$4" >> "$R/etc/passwd" || return
  # '*': no password can match, yet the account is not locked (dropbear refuses locked accounts).
  printf '%s:*:%s:0:99999:7:::\\n' "$1" "$(($(date +%s) / 86400))" >> "$R/etc/shadow" || return
  [ "$7" = 1 ] && return 0
  mkdir -p "$R$3" && chmod 700 "$R$3" || return
  [ ! -d "$R/etc/skel" ] || cp -a "$R/etc/skel/." "$R$3/" 2>/dev/null
  chown -R "$cu_uid:$cu_g" "$R$3"
}
# cu_password NAME HASH
cu_password() {
  if command -v usermod >/dev/null 2>&1; then usermod \${R:+--prefix "$R"} -p "$2" "$1"; return; fi
  cu_edit "$R/etc/shadow" -v u="$1" -v h="$2" '$1 == u { $2 = h } { print }'
}
# cu_lock NAME: no password login (cloud-init's lock_passwd).
cu_lock() {
  if command -v usermod >/dev/null 2>&1; then usermod \${R:+--prefix "$R"} -L "$1"; return; fi
  cu_edit "$R/etc/shadow" -v u="$1" '$1 == u && $2 !~ /^[!*]/ { $2 = "*" } { print }'
}
# cu_keys NAME < base64 of lines: each key added to NAME's authorized_keys unless there.
cu_keys() {
  cu_home=$(cu_pw "$1" 6)
  [ -n "$cu_home" ] || { cu_say "no user $1 for ssh keys"; return 1; }
  cu_d=$R$cu_home/.ssh
  mkdir -p "$cu_d" && chmod 700 "$cu_d" && touch "$cu_d/authorized_keys" && chmod 600 "$cu_d/authorized_keys" || return
  base64 -d | while IFS= read -r cu_k; do
    [ -n "$cu_k" ] || continue
    grep -qxF -- "$cu_k" "$cu_d/authorized_keys" || printf '%s\\n' "$cu_k" >> "$cu_d/authorized_keys"
  done
  chown -R "$(cu_pw "$1" 3):$(cu_pw "$1" 4)" "$cu_d"
}
# cu_sudo NAME < base64 of rules: sudoers lines for NAME, like cloud-init's.
cu_sudo() {
  cu_s=$R${guestPaths.sudoers}
  mkdir -p "$(dirname "$cu_s")" || return
  [ -f "$cu_s" ] || printf '# Created by cumulo from user data\\n' > "$cu_s"
  base64 -d | while IFS= read -r cu_r; do
    [ -n "$cu_r" ] || continue
    grep -qxF -- "$1 $cu_r" "$cu_s" || printf '\\n# User rules for %s\\n%s %s\\n' "$1" "$1" "$cu_r" >> "$cu_s"
  done
  chmod 440 "$cu_s"
}
`;

// ---------------------------------------------------------------------------------------------
// The plan: what the parts ask for, before any shell is written.

interface Script {
  name: string;
  content: Buffer;
}

interface Plan {
  notes: string[];
  boothooks: Script[];
  scripts: Script[];
  perBoot: Script[];
  config: Record<string, unknown>;
}

/** PyYAML's booleans: yes/no/on/off/true/false, but not y/n (YAML 1.1 lists them; PyYAML does not). */
const pyTrue = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const pyFalse = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

function parseYamlPart(text: string): unknown {
  // YAML 1.1 as cloud-init's PyYAML reads it: 0644 is octal, yes/no are booleans, y is a string.
  return parseYaml(text, {
    version: '1.1',
    customTags: (tags) =>
      tags.map((t) => {
        if (typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:bool' || !('test' in t) || !t.test) return t;
        return { ...t, test: t.test.test('true') ? pyTrue : pyFalse };
      }),
  });
}

function plan(userData: Buffer): Plan {
  const p: Plan = { notes: [], boothooks: [], scripts: [], perBoot: [], config: {} };
  let parts: Part[];
  try {
    parts = parseUserData(userData);
  } catch (e) {
    p.notes.push(`user data could not be read (${(e as Error).message}); nothing to run`);
    return p;
  }
  let n = 0;
  const visit = (part: Part, depth: number): void => {
    const name = `part-${String(++n).padStart(3, '0')}`;
    const label = part.filename ? `${name} (${part.filename})` : name;
    switch (part.kind) {
      case 'shellscript':
      case 'per-instance':
      case 'per-once':
        p.scripts.push({ name, content: part.content });
        return;
      case 'per-boot':
        p.perBoot.push({ name, content: part.content });
        return;
      case 'boothook':
        p.boothooks.push({ name: `10-${name}`, content: stripFirstLine(part.content, '#cloud-boothook') });
        return;
      case 'cloud-config': {
        let doc: unknown;
        try {
          doc = parseYamlPart(part.content.toString('utf8'));
        } catch (e) {
          p.notes.push(`${label}: the cloud-config is not valid YAML (${(e as Error).message.split('\n')[0]}); skipped`);
          return;
        }
        if (doc === null || doc === undefined) return;
        if (typeof doc !== 'object' || Array.isArray(doc)) {
          p.notes.push(`${label}: the cloud-config is not a mapping; skipped`);
          return;
        }
        // cloud-init's default merge: a later part's keys replace an earlier part's.
        Object.assign(p.config, doc);
        return;
      }
      case 'archive': {
        let doc: unknown;
        try {
          doc = parseYamlPart(part.content.toString('utf8'));
        } catch {
          doc = undefined;
        }
        if (!Array.isArray(doc) || depth > 4) {
          p.notes.push(`${label}: the cloud-config-archive is not a YAML list; skipped`);
          return;
        }
        for (const item of doc) {
          if (typeof item === 'string') visit(partOf(Buffer.from(item)), depth + 1);
          else if (item && typeof item === 'object' && 'content' in item) {
            const it = item as { content: unknown; type?: unknown; filename?: unknown };
            const content = Buffer.isBuffer(it.content) || it.content instanceof Uint8Array ? Buffer.from(it.content) : Buffer.from(String(it.content ?? ''));
            visit(partOf(content, typeof it.type === 'string' ? it.type : undefined, typeof it.filename === 'string' ? it.filename : undefined), depth + 1);
          }
        }
        return;
      }
      case 'include-url':
        p.notes.push(`${label}: ${part.contentType} is not supported (instances do not fetch URLs); skipped`);
        return;
      case 'part-handler':
        p.notes.push(`${label}: part handlers are not supported; skipped`);
        return;
      case 'jinja':
        p.notes.push(`${label}: jinja templates are not supported; skipped`);
        return;
      default:
        p.notes.push(`${label}: unhandled user data (${part.contentType}): a script starts with #!, a cloud-config with #cloud-config; skipped`);
    }
  };
  for (const part of parts) visit(part, 0);
  return p;
}

function stripFirstLine(b: Buffer, prefix: string): Buffer {
  const s = b.toString('latin1');
  if (!s.startsWith(prefix)) return b;
  const i = s.indexOf('\n');
  return i < 0 ? Buffer.alloc(0) : b.subarray(i + 1);
}

// ---------------------------------------------------------------------------------------------
// cloud-config pieces

function asList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** "a, b" or ["a", "b"] → ["a", "b"]. */
function nameList(v: unknown): string[] {
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  return asList(v).filter((x): x is string | number => typeof x === 'string' || typeof x === 'number').map(String);
}

/** runcmd / bootcmd: a string is shell as written, a list is one command with each item quoted. */
export function commandScript(cmds: unknown): string {
  const lines = ['#!/bin/sh'];
  for (const c of asList(cmds)) {
    if (c === null || c === undefined) continue;
    if (Array.isArray(c)) lines.push(c.map((w) => sq(String(w ?? ''))).join(' '));
    else lines.push(String(c));
  }
  return lines.join('\n') + '\n';
}

/** write_files' mode: YAML 1.1 reads 0644 as the number 420; a string is octal. */
export function fileMode(v: unknown): string | undefined {
  if (v === undefined || v === null) return '0644';
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o7777) return v.toString(8).padStart(4, '0');
  if (typeof v === 'string') {
    const s = v.trim().replace(/^0o/i, '');
    if (/^[0-7]{1,4}$/.test(s)) return s.padStart(4, '0');
  }
  return undefined;
}

/** write_files' content decoded as cloud-init does (encoding: b64, gzip, gz+b64, …). */
export function fileContent(content: unknown, encoding: unknown): Buffer {
  const raw = content instanceof Uint8Array ? Buffer.from(content) : Buffer.from(content === undefined || content === null ? '' : String(content), 'utf8');
  const enc = typeof encoding === 'string' ? encoding.trim().toLowerCase() : '';
  const b64 = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\s+/g, ''), 'base64');
  switch (enc) {
    case '':
    case 'text/plain':
      return raw;
    case 'b64':
    case 'base64':
      return b64(raw);
    case 'gz':
    case 'gzip':
      return isGzip(raw) ? gunzip(raw) : raw;
    case 'gz+b64':
    case 'gz+base64':
    case 'gzip+b64':
    case 'gzip+base64':
      return gunzip(b64(raw));
    default:
      throw new Error(`unknown encoding '${encoding}'`);
  }
}

function writeFiles(entries: unknown, deferred: boolean, out: string[]): void {
  for (const e of asList(entries)) {
    if (!e || typeof e !== 'object') continue;
    const f = e as Record<string, unknown>;
    if (Boolean(f.defer) !== deferred) continue;
    if (typeof f.path !== 'string' || !f.path.trim()) {
      out.push(`cu_say ${sq('write_files: an entry without a path; skipped')}`);
      continue;
    }
    const path = posix.normalize('/' + f.path.trim());
    if (f.source !== undefined && f.content === undefined) {
      out.push(`cu_say ${sq(`write_files ${path}: source URLs are not supported; skipped`)}`);
      continue;
    }
    const mode = fileMode(f.permissions);
    if (!mode) {
      out.push(`cu_say ${sq(`write_files ${path}: bad permissions ${String(f.permissions)}; skipped`)}`);
      continue;
    }
    let body: Buffer;
    try {
      body = fileContent(f.content, f.encoding);
    } catch (err) {
      out.push(`cu_say ${sq(`write_files ${path}: ${(err as Error).message}; skipped`)}`);
      continue;
    }
    const owner = typeof f.owner === 'string' && f.owner.trim() ? f.owner.trim() : 'root:root';
    out.push(`cu_write ${sq(path)} ${mode} ${sq(owner)} ${f.append ? 1 : 0} ${heredoc(body)}`);
    out.push(`cu_check ${sq(`write_files ${path}`)}`);
  }
}

interface UserEntry {
  name: string;
  gecos?: string;
  homedir?: string;
  shell?: string;
  primary_group?: string;
  groups: string[];
  sudo: string[];
  keys: string[];
  uid?: number;
  system: boolean;
  noCreateHome: boolean;
  lock: boolean;
  passwd?: string;
  isDefault: boolean;
}

function sudoRules(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  return asList(v).flatMap((r) => (typeof r === 'string' ? r.split('\n').map((s) => s.trim()).filter(Boolean) : []));
}

function keyList(v: unknown): string[] {
  return asList(v).flatMap((k) => (typeof k === 'string' ? k.split('\n').map((s) => s.trim()).filter(Boolean) : []));
}

function userEntries(users: unknown, sshUser: string, notes: string[]): UserEntry[] {
  const list = typeof users === 'string' ? nameList(users) : asList(users);
  const out: UserEntry[] = [];
  for (const u of list) {
    const o: Record<string, unknown> = typeof u === 'string' ? { name: u } : u && typeof u === 'object' ? (u as Record<string, unknown>) : {};
    const isDefault = o.name === 'default';
    const name = isDefault ? sshUser : o.name;
    if (!validName(name)) {
      notes.push(`users: ${JSON.stringify(o.name ?? null)} is not a valid user name; skipped`);
      continue;
    }
    for (const k of ['plain_text_passwd', 'ssh_import_id', 'snapuser', 'doas', 'selinux_user']) {
      if (o[k] !== undefined) notes.push(`users ${name}: ${k} is not supported; ignored`);
    }
    const groups = nameList(o.groups).filter((g) => {
      if (validName(g)) return true;
      notes.push(`users ${name}: ${JSON.stringify(g)} is not a valid group name; skipped`);
      return false;
    });
    const pg = typeof o.primary_group === 'string' ? o.primary_group : undefined;
    if (pg !== undefined && !validName(pg)) notes.push(`users ${name}: primary_group ${JSON.stringify(pg)} is not a valid group name; ignored`);
    const uid = o.uid === undefined || o.uid === null ? undefined : Number(o.uid);
    const passwd = typeof o.hashed_passwd === 'string' ? o.hashed_passwd : typeof o.passwd === 'string' ? o.passwd : undefined;
    out.push({
      name,
      ...(typeof o.gecos === 'string' ? { gecos: o.gecos.replace(/[:\n]/g, ' ') } : {}),
      ...(typeof o.homedir === 'string' ? { homedir: posix.normalize('/' + o.homedir) } : {}),
      ...(typeof o.shell === 'string' ? { shell: o.shell } : {}),
      ...(pg !== undefined && validName(pg) ? { primary_group: pg } : {}),
      groups,
      sudo: sudoRules(o.sudo),
      keys: keyList(o.ssh_authorized_keys),
      ...(uid !== undefined && Number.isInteger(uid) && uid >= 0 ? { uid } : {}),
      system: Boolean(o.system),
      noCreateHome: Boolean(o.no_create_home),
      lock: o.lock_passwd === undefined ? true : Boolean(o.lock_passwd),
      ...(passwd !== undefined && !/[:\n]/.test(passwd) ? { passwd } : {}),
      isDefault,
    });
  }
  return out;
}

function userCommands(u: UserEntry, out: string[]): void {
  const label = sq(`users ${u.name}`);
  if (!u.isDefault) {
    const home = u.homedir ?? `/home/${u.name}`;
    const args = ['useradd', '${R:+--prefix "$R"}'];
    if (u.noCreateHome || u.system) args.push('-M');
    else args.push('-m');
    args.push('-d', sq(home));
    if (u.shell) args.push('-s', sq(u.shell));
    if (u.gecos) args.push('-c', sq(u.gecos));
    if (u.uid !== undefined) args.push('-u', String(u.uid));
    if (u.primary_group) args.push('-g', sq(u.primary_group));
    else args.push('-U');
    if (u.system) args.push('-r');
    args.push(sq(u.name));
    const manual = ['cu_adduser', sq(u.name), sq(u.uid === undefined ? '' : String(u.uid)), sq(home), sq(u.shell ?? '/bin/sh'), sq(u.gecos ?? ''), sq(u.primary_group ?? ''), u.noCreateHome || u.system ? '1' : '0'];
    out.push(`if cu_has_user ${sq(u.name)}; then cu_say ${sq(`user ${u.name} already exists`)}`);
    if (u.primary_group) out.push(`else cu_group ${sq(u.primary_group)} && if command -v useradd >/dev/null 2>&1; then ${args.join(' ')}; else ${manual.join(' ')}; fi`);
    else out.push(`elif command -v useradd >/dev/null 2>&1; then ${args.join(' ')}`, `else ${manual.join(' ')}`);
    out.push(`fi; cu_check ${label}`);
    if (u.passwd !== undefined) out.push(`cu_password ${sq(u.name)} ${sq(u.passwd)}; cu_check ${label}`);
    if (u.lock) out.push(`cu_lock ${sq(u.name)}; cu_check ${label}`);
  }
  for (const g of u.groups) out.push(`cu_member ${sq(g)} ${sq(u.name)}; cu_check ${sq(`users ${u.name}: group ${g}`)}`);
  if (u.sudo.length) out.push(`cu_sudo ${sq(u.name)} ${heredoc(u.sudo.join('\n') + '\n')}`, `cu_check ${label}`);
  if (u.keys.length) out.push(`cu_keys ${sq(u.name)} ${heredoc(u.keys.join('\n') + '\n')}`, `cu_check ${label}`);
}

/** Keys the script acts on; any other top-level key is reported as ignored. */
const handledKeys = new Set([
  'bootcmd',
  'write_files',
  'hostname',
  'fqdn',
  'preserve_hostname',
  'prefer_fqdn_over_hostname',
  'groups',
  'users',
  'ssh_authorized_keys',
  'packages',
  'package_update',
  'package_upgrade',
  'package_reboot_if_required',
  'apt_update',
  'apt_upgrade',
  'runcmd',
  'timezone',
  'power_state',
  'final_message',
  // Harmless here, and common in the wild: nothing to do, nothing to say.
  'disable_root',
  'ssh_pwauth',
  'manage_etc_hosts',
  'merge_how',
  'merge_type',
  'output',
  'ssh_deletekeys',
  'ssh_genkeytypes',
  'locale',
  'system_info',
  'cloud_init_modules',
  'cloud_config_modules',
  'cloud_final_modules',
]);

function hostnameCommands(c: Record<string, unknown>, out: string[]): void {
  if (c.preserve_hostname === true) return;
  const fqdn = typeof c.fqdn === 'string' ? c.fqdn.trim() : undefined;
  let host = typeof c.hostname === 'string' ? c.hostname.trim() : undefined;
  if (!host && fqdn) host = fqdn.split('.')[0];
  if (c.prefer_fqdn_over_hostname === true && fqdn) host = fqdn;
  if (!host) return;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(host) || (fqdn && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(fqdn))) {
    out.push(`cu_say ${sq(`hostname ${JSON.stringify(host)} is not a valid host name; ignored`)}`);
    return;
  }
  out.push(`printf '%s\\n' ${sq(host)} > "$R/etc/hostname"; cu_check hostname`);
  // Best effort: setting the name of a running instance needs CAP_SYS_ADMIN; /etc/hostname is what lasts.
  out.push(`[ -n "$R" ] || hostname ${sq(host)} 2>/dev/null || :`);
  if (fqdn && fqdn !== host) out.push(`printf '127.0.1.1 %s %s\\n' ${sq(fqdn)} ${sq(fqdn.split('.')[0]!)} >> "$R/etc/hosts"; cu_check hostname`);
}

/**
 * Top-level groups: made before the users, their members added after them (cloud-init adds only
 * members that already exist, so a group naming a user of the same cloud-config ends up without
 * them; here it gets them).
 */
function groupCommands(groups: unknown, notes: string[], out: string[], later: string[]): void {
  for (const g of asList(groups)) {
    const entries: [string, string[]][] =
      typeof g === 'string'
        ? nameList(g).map((n) => [n, []])
        : g && typeof g === 'object'
          ? Object.entries(g as Record<string, unknown>).map(([n, m]) => [n, nameList(m)])
          : [];
    for (const [name, members] of entries) {
      if (!validName(name)) {
        notes.push(`groups: ${JSON.stringify(name)} is not a valid group name; skipped`);
        continue;
      }
      out.push(`cu_group ${sq(name)}; cu_check ${sq(`groups ${name}`)}`);
      for (const m of members) {
        if (validName(m)) later.push(`cu_member ${sq(name)} ${sq(m)}; cu_check ${sq(`groups ${name}: ${m}`)}`);
        else notes.push(`groups ${name}: ${JSON.stringify(m)} is not a valid user name; skipped`);
      }
    }
  }
}

function packageCommands(c: Record<string, unknown>, distro: Distro, notes: string[], out: string[]): void {
  const pkgs: string[] = [];
  for (const p of asList(c.packages)) {
    const spec = Array.isArray(p) ? (p.length >= 2 ? `${p[0]}=${p[1]}` : String(p[0] ?? '')) : typeof p === 'string' || typeof p === 'number' ? String(p) : '';
    if (/^[A-Za-z0-9][A-Za-z0-9+.:~=_-]*$/.test(spec)) pkgs.push(spec);
    else notes.push(`packages: ${JSON.stringify(p)} is not a package name; skipped`);
  }
  const update = Boolean(c.package_update ?? c.apt_update) || pkgs.length > 0;
  const upgrade = Boolean(c.package_upgrade ?? c.apt_upgrade);
  if (!pkgs.length && !update && !upgrade) return;
  if (distro === 'minimal') {
    out.push(`cu_say ${sq(`packages: this image has no package manager; not installed: ${pkgs.join(' ') || '(none)'}`)}`);
    return;
  }
  const apt = 'cu_apt';
  if (update) out.push(`cu_say 'packages: apt-get update'`, `${apt} update; cu_check 'apt-get update'`);
  if (upgrade) out.push(`cu_say 'packages: apt-get upgrade'`, `${apt} upgrade; cu_check 'apt-get upgrade'`);
  if (pkgs.length) out.push(`cu_say ${sq(`packages: installing ${pkgs.join(' ')}`)}`, `${apt} install ${pkgs.map(sq).join(' ')}; cu_check 'apt-get install'`);
}

function timezoneCommands(tz: unknown, out: string[]): void {
  if (typeof tz !== 'string' || !tz) return;
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(tz)) {
    out.push(`cu_say ${sq(`timezone ${JSON.stringify(tz)} is not a zone name; ignored`)}`);
    return;
  }
  const q = sq(tz);
  out.push(
    `if [ -f "$R/usr/share/zoneinfo/"${q} ]; then printf '%s\\n' ${q} > "$R/etc/timezone" && ln -sf /usr/share/zoneinfo/${q} "$R/etc/localtime"; cu_check timezone; else cu_say ${sq(`timezone ${tz}: no such zone in this image; ignored`)}; fi`,
  );
}

function powerStateCommands(ps: unknown, out: string[]): void {
  if (!ps || typeof ps !== 'object') return;
  const o = ps as Record<string, unknown>;
  const mode = o.mode;
  if (mode !== 'poweroff' && mode !== 'reboot' && mode !== 'halt') {
    out.push(`cu_say ${sq(`power_state: unknown mode ${JSON.stringify(mode)}; ignored`)}`);
    return;
  }
  // delay: "now", "+N" minutes, or a number of minutes.
  const d = o.delay === undefined || o.delay === 'now' ? 0 : Number(String(o.delay).replace(/^\+/, ''));
  const secs = Number.isFinite(d) && d > 0 ? Math.round(d * 60) : 0;
  if (typeof o.message === 'string') out.push(`cu_say ${sq(o.message)}`);
  if (o.condition === false) return;
  out.push(`cu_say ${sq(`power_state: ${mode}${secs ? ` in ${secs} s` : ''}`)}`);
  // Never in a test sandbox: there /sbin/poweroff would be the host's.
  out.push(`[ -n "$R" ] || ( sleep ${secs + 1}; exec /sbin/${mode} ) >/dev/null 2>&1 &`);
}

// ---------------------------------------------------------------------------------------------

/** The whole script. Empty user data gives a script that only runs the image's per-boot scripts. */
export function userDataScript(userData: Buffer, opts: UserDataOptions): string {
  const p = plan(userData);
  const c = p.config;
  const notes = p.notes;
  const body: string[] = [];
  const section = (title: string) => body.push('', `# ${title}`);

  // Boothooks and bootcmd: saved where the init runs them again on every later boot.
  const hooks = [...p.boothooks];
  if (c.bootcmd !== undefined) hooks.push({ name: '20-bootcmd', content: Buffer.from(commandScript(c.bootcmd)) });
  if (hooks.length) {
    section('boothooks and bootcmd (every boot; the init runs them on later boots)');
    for (const h of hooks) body.push(`cu_put "$R${guestPaths.boothooks}/${h.name}" 700 ${heredoc(h.content)}`, `cu_check ${sq(h.name)}`);
    body.push(`cu_run_dir "$R${guestPaths.boothooks}"`);
  }

  if (c.write_files !== undefined) {
    section('write_files');
    writeFiles(c.write_files, false, body);
  }

  const host: string[] = [];
  hostnameCommands(c, host);
  timezoneCommands(c.timezone, host);
  if (host.length) {
    section('hostname, timezone');
    body.push(...host);
  }

  const users = c.users === undefined ? [] : userEntries(c.users, opts.sshUser, notes);
  const topKeys = keyList(c.ssh_authorized_keys);
  if (c.groups !== undefined || users.length || topKeys.length) {
    section('groups, users, ssh_authorized_keys');
    const members: string[] = [];
    if (c.groups !== undefined) groupCommands(c.groups, notes, body, members);
    for (const u of users) userCommands(u, body);
    body.push(...members);
    if (topKeys.length) body.push(`cu_keys ${sq(opts.sshUser)} ${heredoc(topKeys.join('\n') + '\n')}`, `cu_check ssh_authorized_keys`);
  }

  const pk: string[] = [];
  packageCommands(c, opts.distro, notes, pk);
  if (pk.length) {
    section('packages');
    body.push(...pk);
  }

  if (c.write_files !== undefined) {
    const deferred: string[] = [];
    writeFiles(c.write_files, true, deferred);
    if (deferred.length) {
      section('write_files (defer: true)');
      body.push(...deferred);
    }
  }

  // At first boot this script runs the per-boot folder (in cloud-init's place for it); the init
  // runs it on every later boot.
  section('per-boot scripts');
  for (const s of p.perBoot) body.push(`cu_put "$R${guestPaths.perBoot}/${s.name}" 700 ${heredoc(s.content)}`, `cu_check ${sq(s.name)}`);
  body.push(`[ ! -d "$R${guestPaths.perBoot}" ] || cu_run_dir "$R${guestPaths.perBoot}"`);

  const scripts = [...p.scripts];
  if (c.runcmd !== undefined) scripts.push({ name: 'runcmd', content: Buffer.from(commandScript(c.runcmd)) });
  if (scripts.length) {
    section('user scripts and runcmd');
    for (const s of scripts) body.push(`cu_put "$R${guestPaths.scripts}/${s.name}" 700 ${heredoc(s.content)}`, `cu_check ${sq(s.name)}`);
    body.push(`cu_run_dir "$R${guestPaths.scripts}"`);
  }

  if (typeof c.final_message === 'string') body.push('', `cu_say ${sq(c.final_message)}`);
  if (c.power_state !== undefined) {
    section('power_state');
    powerStateCommands(c.power_state, body);
  }

  for (const k of Object.keys(c)) if (!handledKeys.has(k)) notes.push(`cloud-config: ${k} is not supported; ignored`);

  const head = notes.map((n) => `cu_say ${sq(n)}`);
  return [prelude.trimEnd(), ...(head.length ? ['', ...head] : []), ...body, '', 'exit $CU_RC', ''].join('\n');
}
