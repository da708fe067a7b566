// cloud-config keys → shell lines for the user-data script (userdata.ts), with the quoting that keeps
// everything the user gave from being interpolated raw: file bodies and scripts as base64, names,
// paths and modes as single-quoted words.
import { posix } from 'node:path';
import { gunzip, isGzip } from './mime.js';
import type { Distro } from './userdata.js';

// ---------------------------------------------------------------------------------------------
// Quoting

/** One shell word, single-quoted (NUL cannot travel in an argument: dropped). */
export function sq(s: string): string {
  return `'${s.replace(/\0/g, '').replace(/'/g, `'\\''`)}'`;
}

/** Bytes as a quoted here-document of base64: nothing in it can end it early or expand. */
export function heredoc(b: Buffer | string): string {
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
// cloud-config pieces

function asList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** "a, b" or ["a", "b"] → ["a", "b"]. */
function nameList(v: unknown): string[] {
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return asList(v)
    .filter((x): x is string | number => typeof x === 'string' || typeof x === 'number')
    .map(String);
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

export function writeFiles(entries: unknown, deferred: boolean, out: string[]): void {
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
  return asList(v).flatMap((r) =>
    typeof r === 'string'
      ? r
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
  );
}

export function keyList(v: unknown): string[] {
  return asList(v).flatMap((k) =>
    typeof k === 'string'
      ? k
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
  );
}

export function userEntries(users: unknown, sshUser: string, notes: string[]): UserEntry[] {
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

export function userCommands(u: UserEntry, out: string[]): void {
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
    const manual = [
      'cu_adduser',
      sq(u.name),
      sq(u.uid === undefined ? '' : String(u.uid)),
      sq(home),
      sq(u.shell ?? '/bin/sh'),
      sq(u.gecos ?? ''),
      sq(u.primary_group ?? ''),
      u.noCreateHome || u.system ? '1' : '0',
    ];
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
export const handledKeys = new Set([
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

export function hostnameCommands(c: Record<string, unknown>, out: string[]): void {
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
export function groupCommands(groups: unknown, notes: string[], out: string[], later: string[]): void {
  for (const g of asList(groups)) {
    const entries: [string, string[]][] =
      typeof g === 'string' ? nameList(g).map((n) => [n, []]) : g && typeof g === 'object' ? Object.entries(g as Record<string, unknown>).map(([n, m]) => [n, nameList(m)]) : [];
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

export function packageCommands(c: Record<string, unknown>, distro: Distro, notes: string[], out: string[]): void {
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

export function timezoneCommands(tz: unknown, out: string[]): void {
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

export function powerStateCommands(ps: unknown, out: string[]): void {
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
