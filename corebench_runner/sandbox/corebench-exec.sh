#!/bin/bash
# Runs one sandbox command: corebench-exec SECONDS COMMAND...   (SECONDS 0 means no limit)
# The command leads a process group of its own. When it ends, whatever it left running in that
# group ends too (a fork bomb, a forgotten `&`). When it overruns SECONDS, the group is killed, and
# so is everything else it started: processes carrying its mark in their environment, processes
# born since it began that descend from it, and orphans born since it began (children that left
# the group with setsid and cleared their environment too). The exit code is the command's (137
# when killed).

# Everything below reads /proc with builtins only: at a timeout the pids limit may be used up
# (a fork bomb), and a scan that forked per process would be slow or fail.

marked() {  # adds to `found` the pids whose environment carries mark $1
  local environ pid var
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    # A process may end between the glob and the read: that is not worth a line on stderr.
    while IFS= read -r -d '' var; do
      if [ "$var" = "COREBENCH_EXEC=$1" ]; then found+=("$pid"); break; fi
    done 2>/dev/null <"$environ"
  done
}

read_stat() {  # sets `fields` to /proc/$1/stat after the command name: fields[0] is field 3 (state)
  local line
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  read -r -a fields <<<"${line##*) }"
  [ "${#fields[@]}" -gt 19 ]
}

born_below() {  # adds to `found` the pids born at or after tick $2 that descend from pid $1, or were orphaned
  local entry pid p
  local -a fields=() born=()
  local -A parent=()
  for entry in /proc/[0-9]*; do
    pid=${entry#/proc/}
    read_stat "$pid" || continue
    # fields[1] is the parent, fields[19] the start time (fields 4 and 22 of proc(5)).
    parent[$pid]=${fields[1]}
    [ "${fields[19]}" -ge "$2" ] && born+=("$pid")
  done
  for pid in "${born[@]}"; do
    p=$pid
    while [ -n "$p" ] && [ "$p" != "$1" ] && [ "$p" != 1 ] && [ "$p" != 0 ]; do p=${parent[$p]}; done
    # Orphans (parent 1) born since the command began are its children that got away, marks and all.
    if [ "$p" = "$1" ] || [ "${parent[$pid]}" = 1 ]; then found+=("$pid"); fi
  done
}

targets() {  # sets `found` to everything a timed-out command (pid $1, mark $2, start tick $3) runs
  found=()
  marked "$2"
  born_below "$1" "$3"
}

if [ "$1" = --kill ]; then  # corebench-exec --kill PGID MARK STARTED
  # Freeze everything before killing anything: a parent that saw its child die would otherwise
  # run on for a moment, long enough to print more, to exit 0, or to fork again. The later
  # passes freeze children forked while the first went round. The command itself dies last:
  # its death wakes the wrapper.
  kill -STOP -- -"$2" 2>/dev/null
  for pass in 1 2 3; do
    targets "$2" "$3" "$4"
    for pid in "${found[@]}"; do kill -STOP "$pid" 2>/dev/null; done
  done
  targets "$2" "$3" "$4"
  for pid in "${found[@]}"; do
    [ "$pid" = "$2" ] || kill -KILL "$pid" 2>/dev/null
  done
  while kill -KILL -- -"$2" 2>/dev/null; do :; done
  exit 0
fi

limit=$1
shift
mark="$$-$RANDOM$RANDOM"
read_stat $$ && started=${fields[19]}  # this wrapper's start, in clock ticks since boot
COREBENCH_EXEC=$mark setsid "$@" </dev/null &
pid=$!
guard=""
if [ "$limit" != 0 ]; then
  # The guard holds none of the exec's output pipes, so the exec's output ends when the command
  # does, and it stays out of the job table, so the shell never reports its end on our stderr.
  # Sent TERM, it takes its sleep with it.
  bash -c 'trap "kill \$! 2>/dev/null; exit 0" TERM; sleep "$1" & wait $!; exec "$0" --kill "$2" "$3" "$4"' \
    "$0" "$limit" "$pid" "$mark" "$started" </dev/null >/dev/null 2>&1 &
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
