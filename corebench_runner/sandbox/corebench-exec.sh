#!/bin/bash
# Runs one sandbox command: corebench-exec SECONDS COMMAND...   (SECONDS 0 means no limit)
# The command leads a process group of its own. When it ends, whatever it left running in that
# group ends too (a fork bomb, a forgotten `&`). When it overruns SECONDS, the group is killed and
# so is every process carrying this command's mark in its environment, which catches children
# that left the group with setsid. The exit code is the command's (137 when killed).
if [ "$1" = --kill ]; then  # corebench-exec --kill PGID MARK
  # Marked processes first and the command itself last: its death wakes the wrapper, which then
  # ends this guard.
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$2" ] && continue
    if tr '\0' '\n' <"$environ" 2>/dev/null | grep -qxF "COREBENCH_EXEC=$3"; then
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  while kill -KILL -- -"$2" 2>/dev/null; do :; done
  exit 0
fi
limit=$1
shift
mark="$$-$RANDOM$RANDOM"
COREBENCH_EXEC=$mark setsid "$@" </dev/null &
pid=$!
guard=""
if [ "$limit" != 0 ]; then
  setsid bash -c 'sleep "$1"; exec "$0" --kill "$2" "$3"' "$0" "$limit" "$pid" "$mark" &
  guard=$!
fi
wait "$pid"
rc=$?
# Repeat: a group that is still forking can gain a member while the first kill goes round.
while kill -KILL -- -"$pid" 2>/dev/null; do :; done
[ -n "$guard" ] && kill -KILL -- -"$guard" 2>/dev/null
exit "$rc"
