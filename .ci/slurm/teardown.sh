#!/usr/bin/env bash
# .ci/slurm/teardown.sh -- stop the daemons started by .ci/slurm/setup.sh, each by its PID file,
# in reverse start order: slurmd, slurmctld, slurmdbd, mariadbd, munged.
#   SLURM_INSTANCE=smk .ci/slurm/teardown.sh   # same instance selector as setup.sh
#   .ci/slurm/teardown.sh --purge            # also delete state, DB, logs, configs, keys
#                                            # (next setup then starts truly from scratch)
set -uo pipefail
INSTANCE="${SLURM_INSTANCE:-}"
SUF="${INSTANCE:+-$INSTANCE}"
ETC="/etc/slurm${SUF}"; LIB="/var/lib/slurm${SUF}"; LOG="/var/log/slurm${SUF}"; SPOOL="/var/spool/slurm${SUF}"
RUN="$LIB/run"
log() { printf '[ci/slurm/teardown %s] %s\n' "$(date +%T)" "$*"; }

stop() { # stop NAME PIDFILE
  local n="$1" f="$2" p i
  [[ -s "$f" ]] || { log "$n: no pid file ($f)"; return 0; }
  p="$(cat "$f")"
  if [[ ! "$p" =~ ^[0-9]+$ ]] || [[ ! -d /proc/$p ]]; then log "$n: not running (stale pid $p)"; rm -f "$f"; return 0; fi
  log "$n: SIGTERM pid $p"; kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 60; i++)); do
    [[ -d /proc/$p ]] || break
    grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && break   # exited, zombie awaiting reap
    sleep 0.5
  done
  if [[ -d /proc/$p ]] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
    log "$n: still alive after 30s, SIGKILL pid $p"; kill -KILL "$p" 2>/dev/null
  fi
  rm -f "$f"
}

stop slurmd    "$RUN/slurmd.pid"
stop slurmctld "$RUN/slurmctld.pid"
stop slurmdbd  "$RUN/slurmdbd.pid"
stop mariadbd  "$LIB/mysql/mariadbd.pid"
stop munged    "/run/munge/munged${SUF}.pid"

if [[ "${1:-}" == --purge ]]; then
  # only what setup.sh created: the Debian packages own /etc/slurm/plugstack.conf*,
  # /var/lib/slurm/{checkpoint,slurmctld,slurmd}, /var/log/slurm and /etc/munge/munge.key
  log "purging configs, state, accounting DB and logs of instance '${INSTANCE:-default}'"
  rm -f  -- "$ETC"/{slurm.conf,gres.conf,slurmdbd.conf,env.sh,.dbpass}
  rm -rf -- "$LIB"/{run,mysql,fakegpu,bin} "$SPOOL"
  rm -f  -- "/run/munge/munged${SUF}".{seed,log}
  rm -rf -- "$LOG"/{slurmctld.log,slurmd.log,slurmdbd.log,mysql}
  if [[ -n "$INSTANCE" ]]; then
    rm -f -- "/etc/munge/munge${SUF}.key"
    rmdir -- "$ETC" "$LIB" "$LOG" 2>/dev/null
  fi
fi
log "done"
