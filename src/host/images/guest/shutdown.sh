#!/bin/sh
# poweroff, halt, reboot and shutdown for instances whose PID 1 is the cumulo init (init.sh):
# they ask PID 1, by signal, to shut the instance down; the host then stops or restarts it.
#   poweroff, shutdown [-h|-P]  → USR2     halt, shutdown -H  → USR1     reboot, shutdown -r  → INT
name=${0##*/}
sig=USR2
when=now
case $name in
  reboot) sig=INT ;;
  halt) sig=USR1 ;;
esac
for a in "$@"; do
  case $a in
    --help)
      echo "usage: $name [-f] | shutdown [-h|-P|-H|-r|-c] [now|+MINUTES] [message]"
      exit 0
      ;;
    -c) echo "$name: no shutdown is pending"; exit 0 ;;
    -p | -P | --poweroff) sig=USR2 ;;
    -H | --halt) sig=USR1 ;;
    -r | --reboot) sig=INT ;;
    -h) [ "$name" = shutdown ] && sig=USR2 ;;
    -*r*) [ "$name" = shutdown ] && sig=INT ;;
    now) when=now ;;
    +[0-9]*) when=${a#+} ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  echo "$name: must be superuser." >&2
  exit 1
fi
# Only the cumulo init leaves this mark: never signal some other PID 1.
if [ ! -e /run/cumulo/init ]; then
  echo "$name: PID 1 is not the cumulo init" >&2
  exit 1
fi
sync
if [ "$when" != now ] && [ "$when" -gt 0 ] 2>/dev/null; then
  echo "Shutdown scheduled in $when minute(s)"
  (sleep $((when * 60)) && kill -s "$sig" 1) >/dev/null 2>&1 &
  exit 0
fi
kill -s "$sig" 1
