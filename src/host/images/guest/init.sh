#!/bin/sh
# cumulo guest init: PID 1 of every instance of the built-in images (busybox ash or dash).
# What the host does before this runs, and what this promises back: README.md beside this file.
#
# Signals (what the shutdown commands of the images send, see shutdown.sh):
#   TERM  stop from the host     → graceful shutdown, exit 0
#   USR2  poweroff, shutdown -h  → graceful shutdown, exit 0
#   USR1  halt                   → graceful shutdown, exit 0
#   INT   reboot, shutdown -r    → graceful shutdown, exit 129 (the driver boots it again)

# It signals every process it can see: never anywhere but as PID 1 of its own PID namespace.
if [ "$$" != 1 ]; then
  echo "cumulo-init: not PID 1; refusing to run" >&2
  exit 1
fi

action=
trap 'action=stop' TERM
trap 'action=poweroff' USR2
trap 'action=halt' USR1
trap 'action=reboot' INT
trap '' HUP

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022
cd /

CLOUD=/var/lib/cloud/instance
CUMULO=/var/lib/cumulo
RUN=/run/cumulo
CONSOLE_LOG=/var/log/cloud-init-output.log
VERSION='22.4.2 (cumulo)'

log() { printf 'cumulo-init: %s\n' "$*"; }

# Seconds since this instance booted (since PID 1 started), as "1.23".
up() {
  read -r cs _ < /proc/uptime
  read -r st < /proc/1/stat
  set -- ${st##*) }
  shift 19
  cs=${cs%.*}${cs#*.}
  t=$((cs - $1))
  # Less than PID 1's start: /proc/uptime is the instance's own already (LXCFS on the host).
  [ "$t" -ge 0 ] || t=$cs
  printf '%d.%02d' $((t / 100)) $((t % 100))
}

mounted() {
  while read -r _ m _; do
    [ "$m" = "$1" ] && return 0
  done < /proc/mounts
  return 1
}

# Mounts runc may not have made (best effort: without CAP_SYS_ADMIN the runtime makes them).
mounts() {
  [ -r /proc/mounts ] || mount -t proc proc /proc 2>/dev/null
  mkdir -p /dev/shm /dev/pts /run 2>/dev/null
  mounted /dev/pts || mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts 2>/dev/null
  mounted /dev/shm || mount -t tmpfs -o nosuid,nodev,mode=1777 shm /dev/shm 2>/dev/null
  mounted /run || mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run 2>/dev/null || rm -rf "$RUN"
  mkdir -p "$RUN" /run/lock /tmp /var/tmp
  echo 1 > "$RUN/init" # the shutdown commands look for it
  chmod 1777 /run/lock /tmp /var/tmp 2>/dev/null
  [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd 2>/dev/null
}

network() {
  ip link set lo up 2>/dev/null
  host=
  [ -s /etc/hostname ] && read -r host < /etc/hostname
  if [ -n "$host" ]; then
    [ "$(hostname 2>/dev/null)" = "$host" ] || hostname "$host" 2>/dev/null
    grep -q "^127\.0\.1\.1[[:space:]]*$host\([[:space:]]\|$\)" /etc/hosts 2>/dev/null || printf '127.0.1.1 %s %s\n' "$host" "${host%%.*}" >> /etc/hosts
  fi
  grep -q '^127\.0\.0\.1[[:space:]]' /etc/hosts 2>/dev/null || printf '127.0.0.1 localhost\n' >> /etc/hosts
}

# The default user (the driver names it) gets the key pair's keys; made if the image lacks it.
default_user() {
  [ -s "$CUMULO/ssh-user" ] || return 0
  read -r user < "$CUMULO/ssh-user"
  case $user in '' | *[!A-Za-z0-9_.-]*) log "bad ssh user name"; return 1 ;; esac
  if ! grep -q "^$user:" /etc/passwd; then
    if command -v useradd >/dev/null 2>&1; then
      useradd -m -s /bin/bash -U "$user" && usermod -p '*' "$user"
    else
      id=$(awk -F: '{ u[$3] = 1 } END { for (i = 1000; i in u; i++); print i }' /etc/passwd)
      echo "$user:x:$id:" >> /etc/group
      echo "$user:x:$id:$id::/home/$user:/bin/sh" >> /etc/passwd
      echo "$user:*:$(($(date +%s) / 86400)):0:99999:7:::" >> /etc/shadow
      mkdir -p "/home/$user" && chown "$id:$id" "/home/$user" && chmod 700 "/home/$user"
    fi
    mkdir -p /etc/sudoers.d
    printf '# Created by cumulo\n%s ALL=(ALL) NOPASSWD:ALL\n' "$user" >> /etc/sudoers.d/90-cloud-init-users
    chmod 440 /etc/sudoers.d/90-cloud-init-users
  fi
  [ -s "$CUMULO/public-keys" ] || return 0
  home=$(awk -F: -v u="$user" '$1 == u { print $6 }' /etc/passwd)
  ids=$(awk -F: -v u="$user" '$1 == u { print $3 ":" $4 }' /etc/passwd)
  [ -n "$home" ] || return 1
  mkdir -p "$home/.ssh" && touch "$home/.ssh/authorized_keys" || return 1
  while IFS= read -r key; do
    [ -n "$key" ] || continue
    grep -qxF -- "$key" "$home/.ssh/authorized_keys" || printf '%s\n' "$key" >> "$home/.ssh/authorized_keys"
  done < "$CUMULO/public-keys"
  chmod 700 "$home/.ssh"
  chmod 600 "$home/.ssh/authorized_keys"
  chown -R "$ids" "$home/.ssh"
}

# First boot: the SDKs' region (the driver writes the instance's), in root's and the default user's
# ~/.aws/config, as nothing else tells botocore where it runs; a file already there is kept.
aws_region() {
  [ -e "$CUMULO/aws-config-done" ] && return 0
  region=
  [ -s "$CUMULO/region" ] && read -r region < "$CUMULO/region"
  case $region in '' | *[!a-z0-9-]*) return 0 ;; esac
  for u in root $user; do
    h=$(awk -F: -v u="$u" '$1 == u { print $6 }' /etc/passwd)
    [ -n "$h" ] && [ -d "$h" ] || continue
    [ -e "$h/.aws/config" ] && continue
    mkdir -p "$h/.aws" && printf '[default]\nregion = %s\n' "$region" > "$h/.aws/config" || continue
    [ "$u" = root ] || chown -R "$(awk -F: -v u="$u" '$1 == u { print $3 ":" $4 }' /etc/passwd)" "$h/.aws"
  done
  : > "$CUMULO/aws-config-done"
}

# The cloud's CA, bound read-only by the host: trusted system-wide, so the SDKs reach the API's
# endpoint in the VPC over HTTPS. Debian's trust store is rebuilt only when the CA changed.
CA=/usr/lib/cumulo/ca.pem
trust_ca() {
  [ -s "$CA" ] || return 0
  if command -v update-ca-certificates >/dev/null 2>&1; then
    dst=/usr/local/share/ca-certificates/cumulo.crt
    cmp -s "$CA" "$dst" 2>/dev/null && [ -e /etc/ssl/certs/cumulo.pem ] && return 0
    mkdir -p "${dst%/*}" && cp "$CA" "$dst" && chmod 644 "$dst" && update-ca-certificates > /dev/null 2>&1 || log "could not add the cloud's CA to the trust store"
  else
    bundle=/etc/ssl/certs/ca-certificates.crt
    mkdir -p /etc/ssl/certs
    grep -qxF -- "$(sed -n 2p "$CA")" "$bundle" 2>/dev/null || cat "$CA" >> "$bundle"
  fi
}

# Host keys are made at first boot: every instance has its own.
host_keys() {
  if command -v dropbear >/dev/null 2>&1; then
    mkdir -p /etc/dropbear
    for t in ed25519 ecdsa; do
      [ -s "/etc/dropbear/dropbear_${t}_host_key" ] || dropbearkey -t "$t" -f "/etc/dropbear/dropbear_${t}_host_key" >/dev/null 2>&1
    done
  elif command -v ssh-keygen >/dev/null 2>&1; then
    for t in ed25519 ecdsa; do
      [ -s "/etc/ssh/ssh_host_${t}_key" ] || ssh-keygen -q -t "$t" -N '' -C "root@$host" -f "/etc/ssh/ssh_host_${t}_key" >/dev/null 2>&1
    done
  fi
}

# An RSA key takes OpenSSH about a second: made once sshd is up, which then reloads its keys.
# (dropbear makes one itself when a client asks: -R.)
slow_host_keys() {
  command -v dropbear >/dev/null 2>&1 && return 0
  command -v ssh-keygen >/dev/null 2>&1 || return 0
  [ -s /etc/ssh/ssh_host_rsa_key ] && return 0
  ssh-keygen -q -t rsa -b 3072 -N '' -C "root@$host" -f /etc/ssh/ssh_host_rsa_key >/dev/null 2>&1 &&
    [ -n "$sshd_pid" ] && kill -HUP "$sshd_pid" 2>/dev/null
}

# EC2's console block of host keys (cloud-init's keys-to-console, "ec2:" lines and all).
print_host_keys() {
  echo "ec2: #############################################################"
  echo "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----"
  if command -v dropbear >/dev/null 2>&1; then
    for t in ecdsa ed25519; do
      f=/etc/dropbear/dropbear_${t}_host_key
      [ -s "$f" ] || continue
      dropbearkey -y -f "$f" 2>/dev/null | awk -v t="$t" '
        /^(ssh|ecdsa)-/ { comment = $3 }
        /^Fingerprint:/ { print "ec2: 256 " $2 " " comment " (" toupper(t) ")" }'
    done
  else
    for f in /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_rsa_key.pub; do
      [ -s "$f" ] && ssh-keygen -l -f "$f" 2>/dev/null | sed 's/^/ec2: /'
    done
  fi
  echo "ec2: -----END SSH HOST KEY FINGERPRINTS-----"
  echo "ec2: #############################################################"
  echo "-----BEGIN SSH HOST KEY KEYS-----"
  if command -v dropbear >/dev/null 2>&1; then
    for t in ecdsa ed25519; do
      f=/etc/dropbear/dropbear_${t}_host_key
      [ -s "$f" ] && dropbearkey -y -f "$f" 2>/dev/null | grep -E '^(ssh|ecdsa)-'
    done
  else
    for f in /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_rsa_key.pub; do
      [ -s "$f" ] && cat "$f"
    done
  fi
  echo "-----END SSH HOST KEY KEYS-----"
}

sshd_pid=
start_ssh() {
  if command -v dropbear >/dev/null 2>&1; then
    # -R: a host key type a client asks for and we lack (RSA) is made then; -s -w: keys only, no root.
    dropbear -F -E -R -s -w -p 22 -P /run/dropbear.pid 2>>/var/log/auth.log &
    sshd_pid=$!
  elif [ -x /usr/sbin/sshd ]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
    /usr/sbin/sshd -D -E /var/log/auth.log &
    sshd_pid=$!
  else
    log "no SSH server in this image"
  fi
}

# Wait (≤ 3 s) until something listens on TCP port 22.
wait_ssh() {
  [ -n "$sshd_pid" ] || return 1
  i=0
  while [ $i -lt 300 ]; do
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q '^ *[0-9]*: [0-9A-F]*:0016 [0-9A-F]*:0000 0A' && return 0
    kill -0 "$sshd_pid" 2>/dev/null || return 1
    sleep 0.01
    i=$((i + 1))
  done
  return 1
}

# run_dir DIR: every script in DIR, in name order (cloud-init's scripts-per-boot).
run_dir() {
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    chmod 700 "$f"
    first=
    IFS= read -r first < "$f" || :
    case $first in '#!'*) "$f" ;; *) sh "$f" ;; esac
    rc=$?
    [ $rc -eq 0 ] || log "$f failed (exit code $rc)"
  done
}

# User data once (first boot); boothooks and per-boot scripts on every later boot.
user_data() {
  mkdir -p "$CLOUD/sem"
  if [ ! -e "$CLOUD/sem/user-data" ]; then
    # The mark comes first: user data runs at most once, even if this boot is cut short.
    date -u '+%Y-%m-%dT%H:%M:%SZ' > "$CLOUD/sem/user-data"
    if [ -s "$CLOUD/user-data.sh" ]; then
      echo "Cloud-init v. $VERSION running 'modules:final' at $(date -R 2>/dev/null || date). Up $(up) seconds."
      sh "$CLOUD/user-data.sh"
      rc=$?
      [ $rc -eq 0 ] || log "user data failed (exit code $rc)"
    elif [ -d /var/lib/cloud/scripts/per-boot ]; then
      run_dir /var/lib/cloud/scripts/per-boot
    fi
  else
    [ ! -d "$CLOUD/boothooks" ] || run_dir "$CLOUD/boothooks"
    [ ! -d /var/lib/cloud/scripts/per-boot ] || run_dir /var/lib/cloud/scripts/per-boot
  fi
  echo "$(up) - $(date -R 2>/dev/null || date) - v. $VERSION" > "$CLOUD/boot-finished"
  echo "Cloud-init v. $VERSION finished at $(date -R 2>/dev/null || date). Datasource DataSourceEc2Local.  Up $(up) seconds"
}

# Processes other than this one, not yet dead.
others() {
  for d in /proc/[0-9]*; do
    [ "${d#/proc/}" = 1 ] && continue
    st=
    read -r st 2>/dev/null < "$d/stat" || continue
    case $st in *') Z '* | *') X '*) continue ;; esac
    return 0
  done
  return 1
}

shutdown_all() {
  log "$1: ending all processes"
  kill -TERM -1 2>/dev/null
  i=0
  while others && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if others; then
    log "killing the processes still running"
    kill -KILL -1 2>/dev/null
  fi
  sync
  log "$1: done"
  exit "$2"
}

# --- boot ---
mounts
network
pretty=Linux
[ -r /etc/os-release ] && pretty=$(. /etc/os-release && echo "$PRETTY_NAME")
log "booting $host ($pretty)"
: >> "$CONSOLE_LOG" && chmod 640 "$CONSOLE_LOG"
default_user
aws_region
host_keys
start_ssh
if wait_ssh; then
  : > "$RUN/ready"
  log "ssh is listening on port 22 (up $(up) s)"
else
  log "ssh is not listening"
fi
# The rest of the boot goes to the console and to the log, in the background: the init stays
# free to take signals while user data runs.
{
  slow_host_keys
  print_host_keys
  trust_ca
  user_data
  : > "$RUN/boot-finished"
} 2>&1 | tee -a "$CONSOLE_LOG" &

# --- run, until a signal says stop: wait on the SSH server (the shell's wait also reaps orphans,
# whoever their parent was), start it again if it dies; no timer, no extra process while idle.
while [ -z "$action" ]; do
  if [ -n "$sshd_pid" ]; then
    wait "$sshd_pid"
    [ -z "$action" ] || break
    log "the ssh server exited; starting it again in 5 s"
    sleep 5 &
    wait $!
    [ -z "$action" ] || break
    start_ssh
  else
    sleep 3600 &
    wait $!
  fi
done

case $action in
  reboot) shutdown_all rebooting 129 ;;
  halt) shutdown_all halting 0 ;;
  poweroff) shutdown_all "powering off" 0 ;;
  *) shutdown_all "stopping (asked by the host)" 0 ;;
esac
