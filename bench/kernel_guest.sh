# kernel_guest.sh — the guest side of bench/kernel_bench.ts: runs in the
# user-mode Linux guest (busybox sh, root) and measures the kernel's NFS
# client against each server on the host, one server after the other,
# repetition after repetition. Prints one line per measurement:
#   RESULT <server> <rep> <phase> <seconds> <work> <server-cpu-seconds>
# (phases: write, read (work in MiB), create, stat, remove (work in files)),
# INFO lines for context, and exits non-zero on the first failure.
#
# Environment (run_guest.sh --env):
#   SERVER    the host end of the guest's network (set by run_guest.sh)
#   SERVERS   "name:port:path ..." — each server's guest-visible port and the
#             export path to mount
#   NFS_OPTS  mount options besides the port ("vers=4.1,proto=tcp")
#   REPS      repetitions; each one visits every server (netfs, peer, netfs,
#             peer), in an order rotated by one server per repetition
#   BIG_MB    the dd size; FILES the metadata loop's file count
#   CTL_PORT  control port: "cpu NAME" answers the server's CPU seconds
#   SUITE     "io" (the above, default) or "v42": NFSv4.2 against NFSv4.1
#             on each server (see visit42), with WIRE lines besides RESULT
#   PHASES    "metadata": the io suite without its dd write and read
#   WATCHDOG  seconds a create / stat / remove loop may take (default 600):
#             past it the guest prints its view of the stall (blocked tasks,
#             the mount's RPC counts) as INFO lines and powers off: a task
#             waiting on a reply that never comes could not be killed (seen
#             with the Node peer), so the run could not go on
# /root/kbench is bench/kbench.c, /root/fsx tests/kernel/fsx.c, /root/sparse
# tests/kernel/sparse.c.
set -u
MP=/mnt/b
MP41=/mnt/c
up() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
cpu() { echo "cpu $1" | nc "$SERVER" "$CTL_PORT"; }
die() {
  echo "INFO failed: $*"
  dmesg | tail -15 | sed 's/^/INFO kernel log: /'
  exit 1
}
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The client's RPC count per operation on $MP so far: "OPEN 10000" lines.
rpcs() {
  awk -v mp="$MP" '$1 == "device" { on = ($5 == mp) } on && /^[ \t]+[A-Z_0-9]+: [0-9]/ { if ($2 > 0) print substr($1, 1, length($1) - 1), $2 }' /proc/self/mountstats
}

# result_line NAME REP PHASE WORK CPU0 T0 [SECONDS]: the RESULT line alone.
result_line() {
  c1=$(cpu "$1")
  s=${7:-$(secs "$6" "$(up)")}
  echo "RESULT $1 $2 $3 $s $4 $(awk -v a="$5" -v b="$c1" 'BEGIN{printf "%.2f", b-a}')"
}

# result NAME REP PHASE WORK CPU0 T0 [SECONDS]: one RESULT line, the phase's
# server CPU taken now (SECONDS defaults to the uptime since T0), then the
# RPCS line: what the client sent since the last rpcs >/tmp/rpcs.
result() {
  result_line "$@"
  rpcs >/tmp/rpcs.new
  echo "RPCS $1 $2 $3 $(awk 'NR == FNR { a[$1] = $2; next } $2 - a[$1] > 0 { printf "%s=%d ", $1, $2 - a[$1] }' /tmp/rpcs /tmp/rpcs.new)"
  mv /tmp/rpcs.new /tmp/rpcs
}

# stall NAME: the guest's view of a loop that does not end, as INFO lines:
# the kernel log, blocked tasks (sysrq w) and the mount's statistics (per
# operation: calls, sends, timeouts, bytes, times; the xprt line: sends and
# receives).
stall() {
  echo "INFO stall on $1 after ${WATCHDOG:-600} s"
  dmesg -c >/tmp/dmesg.before
  tail -15 /tmp/dmesg.before | sed "s/^/INFO stall $1 kernel log: /"
  echo w >/proc/sysrq-trigger 2>/dev/null
  dmesg | head -60 | sed "s/^/INFO stall $1 tasks: /"
  awk -v mp="$MP" '$1 == "device" { on = ($5 == mp) } on' /proc/self/mountstats |
    grep -E 'xprt|OPEN|CLOSE|SETATTR|GETATTR|LOOKUP|REMOVE|RENEW|ACCESS' |
    sed "s/^/INFO stall $1 mountstats: /"
}

# run_loop NAME PHASE DIR: bench/kbench.c's seconds for PHASE, under the
# watchdog (see stall). The watchdog writes to stderr: its sleep must not
# hold the caller's $(...) open.
run_loop() {
  /root/kbench "$2" "$3" "$FILES" >/tmp/kbench.out &
  kb=$!
  (
    sleep "${WATCHDOG:-600}"
    kill -0 $kb 2>/dev/null || exit 0
    stall "$1"
    echo "INFO failed: $2 on $1 stalled; powering off"
    poweroff -f
  ) >&2 &
  wd=$!
  wait $kb
  rc=$?
  kill $wd 2>/dev/null
  cat /tmp/kbench.out
  return $rc
}

# One server, once: mount, dd write and read, the metadata loop, umount.
visit() {
  name=$1 port=$2 path=$3 rep=$4
  mkdir -p $MP
  mount.nfs "$SERVER:$path" $MP -o "$NFS_OPTS,port=$port" || die "mount $name"
  if [ "$rep" = 1 ]; then
    echo "INFO $name $(grep " $MP " /proc/mounts)"
    echo "INFO $name root: $(ls $MP | tr '\n' ' ')"
  fi
  d=$MP/kbench-$rep
  mkdir $d || die "mkdir on $name"

  if [ "${PHASES:-all}" != metadata ]; then
    rpcs >/tmp/rpcs
    c0=$(cpu "$name") t0=$(up)
    dd if=/tmp/pattern of=$d/big bs=1M conv=fsync 2>/tmp/dd.err || die "dd write to $name: $(cat /tmp/dd.err)"
    result "$name" "$rep" write "$BIG_MB" "$c0" "$t0"
    drop_caches
    rpcs >/tmp/rpcs
    c0=$(cpu "$name") t0=$(up)
    dd if=$d/big of=/dev/null bs=1M 2>/tmp/dd.err || die "dd read from $name: $(cat /tmp/dd.err)"
    result "$name" "$rep" read "$BIG_MB" "$c0" "$t0"
    rm $d/big
  fi

  for phase in create stat remove; do
    # Every stat and remove goes to the server, not to the client's caches.
    [ $phase = create ] || drop_caches
    rpcs >/tmp/rpcs
    c0=$(cpu "$name")
    s=$(run_loop "$name" $phase $d) || die "$phase on $name"
    result "$name" "$rep" $phase "$FILES" "$c0" 0 "$s"
  done
  rmdir $d
  umount $MP || die "umount $name"
}

# The requests, bytes sent and bytes received per operation on $MP so far:
# "READ 1024 139264 1073872896" lines (mountstats: ops, transmissions,
# timeouts, bytes sent, bytes received, ...).
wire() {
  awk -v mp="$1" '$1 == "device" { on = ($5 == mp) } on && /^[ \t]+[A-Z_0-9]+: [0-9]/ { if ($2 > 0) print substr($1, 1, length($1) - 1), $2, $5, $6 }' /proc/self/mountstats
}
# wired NAME REP PHASE MOUNT: the WIRE line since the last wire MOUNT >/tmp/wire:
# OP=requests/bytes-sent/bytes-received for each operation sent.
wired() {
  wire "$4" >/tmp/wire.new
  echo "WIRE $1 $2 $3 $(awk 'NR == FNR { n[$1] = $2; s[$1] = $3; r[$1] = $4; next } $2 - n[$1] > 0 { printf "%s=%d/%d/%d ", $1, $2 - n[$1], $3 - s[$1], $4 - r[$1] }' /tmp/wire /tmp/wire.new)"
}

# One server, once, over NFSv4.2 at $MP and NFSv4.1 at $MP41: a 1 GiB file
# with ten 1 MiB data regions (at 0, 100, ... 900 MiB) read whole over each
# mount (READ_PLUS where the client sends it), then BIG_MB MiB copied by the
# server (copy_file_range: COPY) and by the client (dd: READ + WRITE).
visit42() {
  name=$1 port=$2 path=$3 rep=$4
  mkdir -p $MP $MP41
  mount.nfs "$SERVER:$path" $MP -o "vers=4.2,proto=tcp,port=$port" || die "mount 4.2 $name"
  mount.nfs "$SERVER:$path" $MP41 -o "vers=4.1,proto=tcp,port=$port" || die "mount 4.1 $name"
  [ "$rep" = 1 ] && echo "INFO $name $(grep " $MP " /proc/mounts)"
  d=kbench-$rep
  mkdir $MP/$d || die "mkdir on $name"
  k=0
  while [ $k -lt 10 ]; do
    dd if=/tmp/pattern of=$MP/$d/sparse bs=1M count=1 seek=$((k * 100)) conv=notrunc 2>/tmp/dd.err || die "dd sparse on $name: $(cat /tmp/dd.err)"
    k=$((k + 1))
  done
  dd if=/dev/null of=$MP/$d/sparse bs=1M seek=1024 2>/tmp/dd.err || die "extend on $name: $(cat /tmp/dd.err)"
  sync
  [ "$rep" = 1 ] && echo "INFO $name sparse file: $(stat -c '%s bytes, %b blocks' $MP/$d/sparse), data at $(/root/sparse map $MP/$d/sparse | tr '\n' ' ')"
  for m in "$MP 4.2" "$MP41 4.1"; do
    mp=${m% *} v=${m#* }
    drop_caches
    wire $mp >/tmp/wire
    c0=$(cpu "$name") t0=$(up)
    dd if=$mp/$d/sparse of=/dev/null bs=1M 2>/tmp/dd.err || die "dd read sparse over $v from $name: $(cat /tmp/dd.err)"
    result_line "$name" "$rep" "sparse-read-$v" 1024 "$c0" "$t0"
    wired "$name" "$rep" "sparse-read-$v" $mp
  done
  rm $MP/$d/sparse
  dd if=/tmp/pattern of=$MP/$d/src bs=1M conv=fsync 2>/tmp/dd.err || die "dd write to $name: $(cat /tmp/dd.err)"
  drop_caches
  wire $MP >/tmp/wire
  c0=$(cpu "$name") t0=$(up)
  /root/sparse copy $MP/$d/src $MP/$d/copy >/dev/null || die "copy_file_range on $name"
  sync
  result_line "$name" "$rep" copy-server "$BIG_MB" "$c0" "$t0"
  wired "$name" "$rep" copy-server $MP
  drop_caches
  wire $MP >/tmp/wire
  c0=$(cpu "$name") t0=$(up)
  dd if=$MP/$d/src of=$MP/$d/copy2 bs=1M conv=fsync 2>/tmp/dd.err || die "dd copy on $name: $(cat /tmp/dd.err)"
  result_line "$name" "$rep" copy-client "$BIG_MB" "$c0" "$t0"
  wired "$name" "$rep" copy-client $MP
  cmp $MP/$d/copy $MP/$d/copy2 || die "the copies differ on $name"
  rm -r $MP/$d
  umount $MP41 || die "umount 4.1 $name"
  umount $MP || die "umount 4.2 $name"
}

echo "INFO kernel $(uname -r), $REPS repetitions, $BIG_MB MiB, $FILES files, $NFS_OPTS"
if [ "${PHASES:-all}" != metadata ]; then
  /root/fsx pattern 7 $((BIG_MB * 1048576)) >/tmp/pattern || die "pattern"
fi
n=$(echo $SERVERS | wc -w)
rep=1
while [ $rep -le "$REPS" ]; do
  # Rotated by one server per repetition.
  i=0
  while [ $i -lt "$n" ]; do
    spec=$(echo $SERVERS | cut -d' ' -f$(((i + rep - 1) % n + 1)))
    rest=${spec#*:}
    if [ "${SUITE:-io}" = v42 ]; then
      visit42 "${spec%%:*}" "${rest%%:*}" "${rest#*:}" $rep
    else
      visit "${spec%%:*}" "${rest%%:*}" "${rest#*:}" $rep
    fi
    i=$((i + 1))
  done
  rep=$((rep + 1))
done
dmesg | grep -iE 'error|stale|lost' | head -5 | sed 's/^/INFO kernel log: /'
exit 0
