#!/usr/bin/env bash
# .ci/slurm/setup.sh -- idempotent single-node Slurm test cluster on Debian 12 (bookworm),
# no systemd, no cgroups, for the repo's end-to-end test of the slurm profile
# (tests/test_slurm_e2e.py, marked `slurm`).  Run as root; teardown: .ci/slurm/teardown.sh.
#
# Default here is SLURM_ACCOUNTING=none (no slurmdbd/MariaDB: ~15 s faster, fewer daemons);
# the snakemake profile must then use `slurm-status-command: squeue` and `slurm-no-account: true`
# (tests/test_slurm_e2e.py passes both; profiles/slurm/ documents them).  SLURM_ACCOUNTING=slurmdbd gives a
# full `sacct` set-up with an account named `test`.
#
#   * Debian packages: slurmctld slurmd slurm-client munge (+ slurmdbd mariadb-server)
#   * one node named $(hostname -s), partitions cpu (default), h100, a100
#   * fake typed GPUs: gres gpu:h100:2 + gpu:a100:2 (char devices with /dev/null's
#     major/minor, or count-only GRES if mknod is not allowed); node features h100,a100
#   * full job accounting (sacct works): slurmdbd + a private MariaDB on 127.0.0.1
#   * all daemons started by hand, each with a PID file; teardown.sh stops them
#
# Usage:  .ci/slurm/setup.sh                 # standard paths: /etc/slurm, ports 6817-6819
#         SLURM_INSTANCE=smk .ci/slurm/setup.sh
#             -> a second, fully separate instance: /etc/slurm-smk, /var/{lib,log,spool}/slurm-smk,
#                ports 6917-6919 (offset 100), own munged socket /run/munge/munge-smk.socket.2,
#                own MariaDB port; clients need: export SLURM_CONF=/etc/slurm-smk/slurm.conf
#                (or: source /etc/slurm-smk/env.sh)
# Env knobs: SLURM_INSTANCE, SLURM_PORT_OFFSET, SLURM_ACCOUNTING=slurmdbd|none,
#            SLURM_SMOKE_TEST=1|0, SLURM_MYSQL_PORT, SLURM_NODE_MEM_MB
set -euo pipefail

INSTANCE="${SLURM_INSTANCE:-}"
SUF="${INSTANCE:+-$INSTANCE}"
if [[ -n "$INSTANCE" ]]; then OFF="${SLURM_PORT_OFFSET:-100}"; else OFF="${SLURM_PORT_OFFSET:-0}"; fi
ACCOUNTING="${SLURM_ACCOUNTING:-none}"
SMOKE="${SLURM_SMOKE_TEST:-1}"

HOST="$(hostname -s)"
CLUSTER="${INSTANCE:-cluster}"            # ClusterName: lowercase, no dashes
ETC="/etc/slurm${SUF}"
LIB="/var/lib/slurm${SUF}"
LOG="/var/log/slurm${SUF}"
SPOOL="/var/spool/slurm${SUF}"
RUN="$LIB/run"
CTLD_PORT=$((6817 + OFF)); SLURMD_PORT=$((6818 + OFF)); DBD_PORT=$((6819 + OFF))
MYSQL_PORT="${SLURM_MYSQL_PORT:-$((3306 + OFF + 10))}"     # 3316 / 3416: never the system 3306
if [[ -n "$INSTANCE" ]]; then
  MUNGE_SOCKET="/run/munge/munge${SUF}.socket.2"; MUNGE_KEY="/etc/munge/munge${SUF}.key"
else
  MUNGE_SOCKET="/run/munge/munge.socket.2";       MUNGE_KEY="/etc/munge/munge.key"
fi
# munged pid/seed/log live in /run/munge: munged refuses ("Logfile is insecure") a log file
# below a directory owned by anyone but root/munge, and Debian's /var/lib/slurm is slurm-owned
MUNGE_PID="/run/munge/munged${SUF}.pid"; MUNGE_SEED="/run/munge/munged${SUF}.seed"; MUNGE_LOG="/run/munge/munged${SUF}.log"
MYSQL_DIR="$LIB/mysql"                   # MariaDB datadir, socket, pid (owned by mysql)
DB_PASS_FILE="$ETC/.dbpass"
export SLURM_CONF="$ETC/slurm.conf"

log()  { printf '[ci/slurm/setup %s] %s\n' "$(date +%T)" "$*"; }
die()  { log "ERROR: $*"; exit 1; }
alive() { # alive PIDFILE -> true if the pid in it is a live (non-zombie) process
  local f="$1" p; [[ -s "$f" ]] || return 1; p="$(cat "$f" 2>/dev/null)"; [[ "$p" =~ ^[0-9]+$ ]] || return 1
  [[ -d /proc/$p ]] || return 1; ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; }
wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local t="$1" what="$2"; shift 2; local i
  for ((i = 0; i < t * 2; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "timed out after ${t}s waiting for: $what"; }
T0=$(date +%s)

# ---------------------------------------------------------------- 1. packages
PKGS=(slurmctld slurmd slurm-client munge)
case "$ACCOUNTING" in
  slurmdbd) PKGS+=(slurmdbd mariadb-server) ;;
  none) ;;
  *) die "SLURM_ACCOUNTING must be 'none' or 'slurmdbd', not '$ACCOUNTING'" ;;
esac
missing=(); for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq -o DPkg::Lock::Timeout=600
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi
log "packages ok ($(dpkg-query -W -f='${Version}' slurmctld)) after $(( $(date +%s) - T0 ))s"

# ---------------------------------------------------------------- 2. dirs, keys, fake GPUs
install -d -m 0755 "$ETC" "$LIB" "$LOG" "$SPOOL"
install -d -m 0755 -o slurm -g slurm "$RUN" "$SPOOL/ctld"
install -d -m 0755 "$SPOOL/d"
install -d -m 0755 -o munge -g munge /run/munge
# slurmctld/slurmdbd (user slurm) write their logs here and want to chdir into it
chown slurm:slurm "$LOG"
if [[ ! -s "$MUNGE_KEY" ]]; then
  log "creating munge key $MUNGE_KEY"
  mungekey --create --keyfile="$MUNGE_KEY"
fi
chown munge:munge "$MUNGE_KEY"; chmod 0600 "$MUNGE_KEY"

# Fake GPU device files: char devices with /dev/null's major:minor (1:3).  Slurm only
# stat()s them (no cgroup device confinement with task/none), and sets CUDA_VISIBLE_DEVICES.
GPU_DIR="$LIB/fakegpu"; install -d -m 0755 "$GPU_DIR"
FAKE_FILES=1
for i in 0 1 2 3; do
  [[ -c "$GPU_DIR/nvidia$i" ]] || mknod -m 0666 "$GPU_DIR/nvidia$i" c 1 3 2>/dev/null || FAKE_FILES=0
done

# ---------------------------------------------------------------- 3. config files
read -r SOCKETS CORES THREADS REALMEM < <(slurmd -C | awk '
  /^NodeName/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  END { print v["SocketsPerBoard"], v["CoresPerSocket"], v["ThreadsPerCore"], v["RealMemory"] }')
CPUS=$((SOCKETS * CORES * THREADS))
NODE_MEM="${SLURM_NODE_MEM_MB:-$((REALMEM * 3 / 4))}"

changed=0
FIRST_JOB_LINE=""
# a second instance gets job ids distinct from the default cluster's, so that a stray client
# talking to the wrong cluster can never attach a step to someone else's job
[[ -n "$INSTANCE" ]] && FIRST_JOB_LINE="FirstJobId=$((OFF * 10000))
"
put() { # put FILE MODE OWNER  (content on stdin); sets changed=1 if the file content changed
  local f="$1" mode="$2" own="$3" tmp; tmp="$(mktemp)"; cat >"$tmp"
  if ! cmp -s "$tmp" "$f" 2>/dev/null; then install -m "$mode" -o "${own%:*}" -g "${own#*:}" "$tmp" "$f"; changed=1; log "wrote $f"; fi
  chown "$own" "$f"; chmod "$mode" "$f"; rm -f "$tmp"; }

if [[ "$ACCOUNTING" == slurmdbd ]]; then
  ACCT_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStorageTRES=gres/gpu,gres/gpu:h100,gres/gpu:a100
# the munged socket used for slurmctld/sacct/sacctmgr <-> slurmdbd traffic is taken from
# AccountingStoragePass, NOT from AuthInfo (otherwise slurmdbd logs: Munge decode failed: Invalid credential)
AccountingStoragePass=$MUNGE_SOCKET
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30"
else
  ACCT_LINES="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi

put "$ETC/slurm.conf" 0644 root:root <<EOF
# generated by .ci/slurm/setup.sh -- single-node test cluster (no systemd, no cgroups)
ClusterName=$CLUSTER
# explicit address: clients never need to resolve the host name
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmdSpoolDir=$SPOOL/d
StateSaveLocation=$SPOOL/ctld
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
# keep finished jobs visible to squeue/scontrol for 10 min (squeue status mode needs >=120 s)
MinJobAge=600
KillWait=5
${FIRST_JOB_LINE}InactiveLimit=0
Waittime=0
$ACCT_LINES
JobCompType=jobcomp/none
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS Boards=1 SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$NODE_MEM Gres=gpu:h100:2,gpu:a100:2 Features=h100,a100 State=UNKNOWN
PartitionName=cpu  Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=h100 Nodes=$HOST Default=NO  MaxTime=INFINITE State=UP
PartitionName=a100 Nodes=$HOST Default=NO  MaxTime=INFINITE State=UP
EOF

if ((FAKE_FILES)); then
  put "$ETC/gres.conf" 0644 root:root <<EOF
# fake GPUs: char devices 1:3 (same as /dev/null); nothing ever opens them
AutoDetect=off
NodeName=$HOST Name=gpu Type=h100 File=$GPU_DIR/nvidia[0-1]
NodeName=$HOST Name=gpu Type=a100 File=$GPU_DIR/nvidia[2-3]
EOF
else
  put "$ETC/gres.conf" 0644 root:root <<EOF
# fake GPUs: count-only GRES (mknod not permitted here) -- no CUDA_VISIBLE_DEVICES in jobs
AutoDetect=off
NodeName=$HOST Name=gpu Type=h100 Count=2
NodeName=$HOST Name=gpu Type=a100 Count=2
EOF
fi

if [[ "$ACCOUNTING" == slurmdbd ]]; then
  [[ -s "$DB_PASS_FILE" ]] || { head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$DB_PASS_FILE"; chmod 0600 "$DB_PASS_FILE"; }
  DB_PASS="$(cat "$DB_PASS_FILE")"
  # slurmdbd refuses to start unless slurmdbd.conf is owned by SlurmUser with mode 0600
  put "$ETC/slurmdbd.conf" 0600 slurm:slurm <<EOF
# generated by .ci/slurm/setup.sh
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=slurm
DebugLevel=info
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
fi

cat >"$ETC/env.sh" <<EOF
# source me: points Slurm clients (sbatch, sacct, squeue, srun, snakemake) at this instance
export SLURM_CONF=$ETC/slurm.conf
EOF
if [[ -n "$INSTANCE" ]]; then
  # snakemake-executor-plugin-slurm-jobstep strips every SLURM_* variable except the job id
  # ones (SLURM_CONF included) before its nested "srun" inside the batch job, so that srun
  # would read the default /etc/slurm/slurm.conf = another cluster.  A PATH shim puts it back.
  install -d -m 0755 "$LIB/bin"
  cat >"$LIB/bin/srun" <<EOF
#!/bin/sh
export SLURM_CONF="\${SLURM_CONF:-$ETC/slurm.conf}"
exec /usr/bin/srun "\$@"
EOF
  chmod 0755 "$LIB/bin/srun"
  echo "export PATH=$LIB/bin:\$PATH" >>"$ETC/env.sh"
fi
CONF_CHANGED=$changed

# ---------------------------------------------------------------- 4. daemons
restart_if_changed() { # restart_if_changed PIDFILE NAME  (stop it here; started again below)
  local f="$1" n="$2" p i
  if ((CONF_CHANGED)) && alive "$f"; then
    p="$(cat "$f")"; log "config changed: restarting $n (pid $p)"; kill -TERM "$p"
    # daemons are re-parented to PID 1, which may not reap them: a zombie counts as stopped
    for ((i = 0; i < 60; i++)); do alive "$f" || break; sleep 0.5; done
    alive "$f" && kill -KILL "$p"; rm -f "$f"
  fi; }

# 4a. munged (as user munge)
if alive "$MUNGE_PID"; then log "munged already running (pid $(cat "$MUNGE_PID"))"
elif munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
  log "WARNING: a munged not started by this script already serves $MUNGE_SOCKET; using it (teardown will not stop it)"
else
  log "starting munged on $MUNGE_SOCKET"
  runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE_KEY" \
    --pid-file="$MUNGE_PID" --seed-file="$MUNGE_SEED" --log-file="$MUNGE_LOG"
fi
wait_for 20 "munge credential round-trip" bash -c "munge -n -S '$MUNGE_SOCKET' | unmunge -S '$MUNGE_SOCKET'"

if [[ "$ACCOUNTING" == slurmdbd ]]; then
  # 4b. private MariaDB on 127.0.0.1:$MYSQL_PORT (as user mysql); datadir under $LIB
  install -d -m 0750 -o mysql -g mysql "$MYSQL_DIR"
  install -d -m 0750 -o mysql -g mysql "$LOG/mysql"
  if [[ ! -d "$MYSQL_DIR/mysql" ]]; then
    log "initialising MariaDB datadir $MYSQL_DIR"
    mariadb-install-db --no-defaults --user=mysql --datadir="$MYSQL_DIR" \
      --auth-root-authentication-method=socket --skip-test-db >"$LOG/mysql/install-db.log" 2>&1
  fi
  if alive "$MYSQL_DIR/mariadbd.pid"; then log "mariadbd already running (pid $(cat "$MYSQL_DIR/mariadbd.pid"))"
  else
    log "starting mariadbd on 127.0.0.1:$MYSQL_PORT"
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$MYSQL_DIR" \
      --socket="$MYSQL_DIR/mysqld.sock" --pid-file="$MYSQL_DIR/mariadbd.pid" \
      --port="$MYSQL_PORT" --bind-address=127.0.0.1 --log-error="$LOG/mysql/mariadbd.err" \
      --innodb-buffer-pool-size=256M --innodb-log-file-size=64M --innodb-lock-wait-timeout=900 \
      </dev/null >>"$LOG/mysql/mariadbd.out" 2>&1 &
  fi
  wait_for 60 "mariadbd ping" mariadb-admin --no-defaults --socket="$MYSQL_DIR/mysqld.sock" -uroot ping
  wait_for 20 "mariadbd pid file" test -s "$MYSQL_DIR/mariadbd.pid"
  mariadb --no-defaults --socket="$MYSQL_DIR/mysqld.sock" -uroot <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF

  # 4c. slurmdbd (reads slurmdbd.conf next to $SLURM_CONF; drops to SlurmUser)
  restart_if_changed "$RUN/slurmdbd.pid" slurmdbd
  if alive "$RUN/slurmdbd.pid"; then log "slurmdbd already running (pid $(cat "$RUN/slurmdbd.pid"))"
  else log "starting slurmdbd on port $DBD_PORT"; /usr/sbin/slurmdbd; fi
  wait_for 60 "slurmdbd answering sacctmgr" sacctmgr -n list cluster
  if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    log "registering cluster $CLUSTER and account 'test' in slurmdbd"
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
  fi
  sacctmgr -n -P list account format=account | grep -qx test ||
    sacctmgr -i add account test Cluster="$CLUSTER" Description=test Organization=test >/dev/null
  sacctmgr -n -P list assoc user=root account=test format=user | grep -qx root ||
    sacctmgr -i add user root Account=test DefaultAccount=test Cluster="$CLUSTER" >/dev/null
fi

# 4d. slurmctld (started as root, drops to SlurmUser=slurm; daemonizes, writes pid file)
restart_if_changed "$RUN/slurmctld.pid" slurmctld
if alive "$RUN/slurmctld.pid"; then log "slurmctld already running (pid $(cat "$RUN/slurmctld.pid"))"
else log "starting slurmctld on port $CTLD_PORT"; /usr/sbin/slurmctld; fi
wait_for 60 "slurmctld UP" bash -c "scontrol ping | grep -q UP"

# 4e. slurmd (root; daemonizes, writes pid file)
restart_if_changed "$RUN/slurmd.pid" slurmd
if alive "$RUN/slurmd.pid"; then log "slurmd already running (pid $(cat "$RUN/slurmd.pid"))"
else log "starting slurmd on port $SLURMD_PORT"; /usr/sbin/slurmd; fi
node_ok() { sinfo -h -n "$HOST" -p cpu -o %T | grep -Eq '^(idle|mixed|allocated)'; }
for i in $(seq 1 60); do
  node_ok && break
  if sinfo -h -n "$HOST" -p cpu -o %T | grep -Eq 'drain|down'; then
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
  fi
  sleep 1
done
node_ok || { sinfo -R; die "node $HOST did not become idle (see $LOG/slurmd.log)"; }
log "cluster up after $(( $(date +%s) - T0 ))s"
sinfo -o '%P %a %D %T %N %G %f'

# ---------------------------------------------------------------- 5. smoke test
if [[ "$SMOKE" == 1 ]]; then
  srun -p cpu -N1 -n1 -t 1 hostname >/dev/null || die "srun failed"
  out="$(srun -p h100 --gres=gpu:h100:1 -t 1 bash -c 'echo "$SLURM_JOB_PARTITION gres=${CUDA_VISIBLE_DEVICES:-none}"')" || die "srun --gres=gpu:h100:1 failed"
  log "smoke: $out"
  jid="$(sbatch --parsable -p a100 --gpus=a100:1 -t 1 --wait --wrap 'true' -o /dev/null)" || die "sbatch --wait failed"
  if [[ "$ACCOUNTING" == slurmdbd ]]; then
    wait_for 30 "sacct sees job $jid" bash -c "sacct -X -n -P -j $jid -o State | grep -q COMPLETED"
    log "smoke: sacct job $jid: $(sacct -X -n -P -j "$jid" -o JobID,Partition,AllocTRES,State)"
  fi
fi
log "done in $(( $(date +%s) - T0 ))s.  Clients: export SLURM_CONF=$SLURM_CONF"
