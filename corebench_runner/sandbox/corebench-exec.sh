#!/bin/bash
# Runs one sandbox command: corebench-exec SECONDS COMMAND...   (SECONDS 0 means no limit)
# The command leads a process group of its own. When it ends, whatever it left running in that
# group ends too (a fork bomb, a forgotten `&`). When it overruns SECONDS, the group is killed and
# so is every process carrying this command's mark in its environment, which catches children
# that left the group with setsid. The exit code is the command's (137 when killed).

marked() {  # the pids whose environment carries mark $1
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    # A process may end between the glob and the read: that is not worth a line on stderr.
    { tr '\0' '\n' <"$environ" | grep -qxF "COREBENCH_EXEC=$1"; } 2>/dev/null && echo "$pid"
  done
}

if [ "$1" = --kill ]; then  # corebench-exec --kill PGID MARK
  # Freeze everything before killing anything: a parent that saw its child die would otherwise
  # run on for a moment, long enough to print more or to exit 0. The second pass freezes
  # children forked while the first went round. The command itself dies last: its death wakes
  # the wrapper.
  kill -STOP -- -"$2" 2>/dev/null
  for pass in 1 2; do
    for pid in $(marked "$3"); do kill -STOP "$pid" 2>/dev/null; done
  done
  for pid in $(marked "$3"); do
    [ "$pid" = "$2" ] || kill -KILL "$pid" 2>/dev/null
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
  # The guard holds none of the exec's output pipes, so the exec's output ends when the command
  # does, and it stays out of the job table, so the shell never reports its end on our stderr.
  # Sent TERM, it takes its sleep with it.
  bash -c 'trap "kill \$! 2>/dev/null; exit 0" TERM; sleep "$1" & wait $!; exec "$0" --kill "$2" "$3"' \
    "$0" "$limit" "$pid" "$mark" </dev/null >/dev/null 2>&1 &
  guard=$!
  disown "$guard"
fi
# The shell's own "Killed" notice for a killed command is ours, not the command's output.
wait "$pid" 2>/dev/null
rc=$?
# Repeat: a group that is still forking can gain a member while the first kill goes round.
while kill -KILL -- -"$pid" 2>/dev/null; do :; done
[ -n "$guard" ] && kill -TERM "$guard" 2>/dev/null
exit "$rc"
