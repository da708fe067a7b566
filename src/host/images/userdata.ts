// User data → one POSIX sh script, made on the host (pure) and run once by the guest init, as root,
// at first boot. It does what cloud-init would do with the same user data, in cloud-init's order:
//   boothooks and bootcmd → write_files → hostname → groups, users, ssh_authorized_keys →
//   packages → deferred write_files → per-boot scripts → scripts (parts, then runcmd) → power_state
// Everything the user gave reaches the script as base64 (file bodies, scripts) or single-quoted
// words (names, paths, modes), never interpolated raw.
import { parse as parseYaml } from 'yaml';
import { parseUserData, partOf, type Part } from './mime.js';
import {
  commandScript,
  groupCommands,
  handledKeys,
  heredoc,
  hostnameCommands,
  keyList,
  packageCommands,
  powerStateCommands,
  sq,
  timezoneCommands,
  userCommands,
  userEntries,
  writeFiles,
} from './cloud-config.js';

// What the tests and other modules use of the cloud-config pieces.
export { commandScript, fileContent, fileMode, sq, validName } from './cloud-config.js';

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
