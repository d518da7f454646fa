# crash_checks.sh — sourced by guest_checks.sh: SUITE=crash (crash_test.ts).
# The servers run on the host as subprocesses; "kill nfs" and "kill nbd" on
# the control port make the host kill one with SIGKILL and start it again on
# the same port (answer: "restarted ..."). The kills come while a write load
# runs, at fixed amounts of data sent, so that dirty, unstable and in-flight
# data are all there when the server dies.
#
# Environment:
#   CRASH_RUNS    NFS mounts to run, one after the other; run i has
#                 CRASH_NAME_i (its checks are NAME/check, its folder NAME in
#                 the export) and CRASH_OPTS_i (mount options, hard, short timeo)
#   CRASH_MB      size of each NFS dd (MiB); CRASH_KILLS kills during each
#   NBD_PORT, NBD_EXPORT  the NBD server; NBD_MB the size of the file written
#                 through ext4 on /dev/nbd0 while the NBD server is killed
#   CTL_PORT      the host's control port
# /root/nbdpersist (nbdpersist.c) is the NBD client that survives the kills.

# Small dirty limits: the writer is held to the speed of writeback, so the
# kills land while dd runs and the client holds little dirty data, most of
# it sent and not yet committed.
crash_setup() {
  echo $((16 * 1048576)) >/proc/sys/vm/dirty_bytes
  echo $((4 * 1048576)) >/proc/sys/vm/dirty_background_bytes
  dmesg -c >/dev/null
}

# ask LINE (guest_checks.sh): the host's answer to LINE on the control port.

# kill_server nfs|nbd: the host kills the server and starts it again.
kill_server() {
  r=$(ask "kill $1")
  case $r in
    restarted*) echo "$r" ;;
    *) fail "control port said: $r" ;;
  esac
}

# under_load WHAT TOTAL PROGRESS: with a writer running in the background
# (it writes its exit status to /tmp/load.rc), kill the server WHAT each time
# PROGRESS (a command printing bytes sent so far) passes the next of
# CRASH_KILLS equal steps below TOTAL, then wait for the writer. Sets KILLS
# to where the kills came and how long each restart took.
under_load() {
  what=$1 total=$2 progress=$3
  k=1 at=
  while [ "$k" -le "$CRASH_KILLS" ]; do
    want=$((total * k / (CRASH_KILLS + 1)))
    i=0
    while [ "$($progress)" -lt "$want" ]; do
      [ -e /tmp/load.rc ] && fail "the writer ended before kill $k ($(cat /tmp/load.rc)): $(tail -3 /tmp/load.err)"
      i=$((i + 1))
      [ $i -lt 1200 ] || fail "kill $k: no progress in 120 s ($($progress) of $want bytes)"
      sleep 0.1
    done
    r=$(kill_server "$what") || fail "kill $k: $r"
    at="$at $((want / 1048576))MiB(${r#restarted })"
    k=$((k + 1))
  done
  wait
  [ "$(cat /tmp/load.rc)" = 0 ] || fail "writer exit status $(cat /tmp/load.rc): $(tail -3 /tmp/load.err)"
  KILLS="killed at$at"
}

# --- NFS: a dd into the mount, the server killed under it -------------------------

nfs_sent() { opcount WRITE 5; }

c_crash_dd() {
  rm -f /tmp/load.rc
  ($FSX pattern 7 "$BIG" | dd of="$M/crash.bin" bs=1M iflag=fullblock 2>/tmp/load.err
    echo $? >/tmp/load.rc) &
  t0=$(up)
  under_load nfs "$BIG" nfs_sent
  echo "$CRASH_MB MiB written by dd in $(secs "$t0" "$(up)")s, $KILLS"
}

# After the kills the client must have sent some data twice: what the old
# server had not committed when it died (its write verifier is gone).
c_crash_sync() {
  t0=$(up)
  sync
  sent=$(opcount WRITE 5)
  [ "$sent" -gt $((BIG + 1048576)) ] || fail "$((sent / 1048576)) MiB of WRITEs for a $CRASH_MB MiB file: nothing was sent again after the kills"
  echo "sync in $(secs "$t0" "$(up)")s; WRITE=$(opcount WRITE) requests, $((sent / 1048576)) MiB sent for a $CRASH_MB MiB file, COMMIT=$(opcount COMMIT)"
}

c_crash_md5() {
  drop_caches
  got=$(md5sum <"$M/crash.bin" | cut -d' ' -f1)
  [ "$got" = "$WANT_SUM" ] || fail "md5 $got, expected $WANT_SUM"
  [ "$(stat -c %s "$M/crash.bin")" -eq "$BIG" ] || fail "size $(stat -c %s "$M/crash.bin")"
  echo "md5 $got"
}

# What the kernel logged: no I/O error, no failed writeback, nothing stale;
# "not responding"/"OK" (a hard mount waiting) and NBD's dead-link and
# timeout lines are what a server kill looks like and are counted, not failed.
c_crash_log() {
  log_clean "$KERNEL_ERRORS|reclaim failed"
  echo "$(wc -l </tmp/dmesg) lines: $(grep -c 'not responding' /tmp/dmesg) not responding, $(grep -ciE 'nbd.*(dead|timed out|connection)' /tmp/dmesg) NBD connection lines, no error"
}

run_crash_nfs() {
  eval "P=\$CRASH_NAME_$1/ NFS_OPTS=\$CRASH_OPTS_$1"
  M=$MP/${P%/}
  before=$failures
  check mount c_mount_nfs
  [ "$failures" -eq "$before" ] || return
  check "dd-${CRASH_MB}MiB-server-killed-${CRASH_KILLS}x" c_crash_dd
  check sync c_crash_sync
  check md5-after-drop-caches c_crash_md5
  check umount umount $MP
  check kernel-log-clean c_crash_log
}

# --- NBD: ext4 on /dev/nbd0, the server killed under a write load -----------------

nbd_sent() { echo $(($(awk '{ print $7 }' /sys/block/nbd0/stat) * 512)); }

c_nbd_persist() {
  /root/nbdpersist "$SERVER" "$NBD_PORT" "$NBD_EXPORT" 0 5 60 >/tmp/nbdp.out 2>&1 &
  echo $! >/tmp/nbdp.pid
  i=0
  until grep -q connected /tmp/nbdp.out; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "nbdpersist: $(cat /tmp/nbdp.out)"
    sleep 0.1
  done
  echo "$(cat /tmp/nbdp.out), dead-connection timeout 60 s"
}

# A big file through dd, and 40 small files each written and fsynced, both
# while the server is killed.
c_nbd_load() {
  rm -f /tmp/load.rc
  nbig=$((NBD_MB * 1048576))
  ($FSX pattern 9 "$nbig" | dd of=$MP/big bs=1M iflag=fullblock conv=fsync 2>/tmp/load.err
    echo $? >/tmp/load.rc) &
  (mkdir $MP/small && i=0 && while [ $i -lt 40 ]; do
    echo "file $i" >$MP/small/f$i && $FSX pattern $i 8192 | dd of=$MP/small/f$i bs=8192 seek=1 conv=fsync 2>/dev/null
    i=$((i + 1))
  done) &
  t0=$(up)
  under_load nbd "$nbig" nbd_sent
  echo "$NBD_MB MiB file and $(ls $MP/small | wc -l) small files in $(secs "$t0" "$(up)")s, $KILLS; $(grep -c reconnected /tmp/nbdp.out) reconnections"
}

c_nbd_verify() {
  want=$($FSX pattern 9 $((NBD_MB * 1048576)) | md5sum | cut -d' ' -f1)
  drop_caches
  got=$(md5sum <$MP/big | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "md5 $got, expected $want"
  n=0
  for f in $MP/small/f*; do
    i=${f##*/f}
    [ "$(head -1 "$f")" = "file $i" ] || fail "$f: first line $(head -1 "$f")"
    [ "$(tail -c 8192 "$f" | md5sum)" = "$($FSX pattern "$i" 8192 | md5sum)" ] || fail "$f: data differs"
    n=$((n + 1))
  done
  echo "md5 $got; $n small files intact"
}

c_nbd_end() {
  nbd-client -d /dev/nbd0 >/dev/null
  kill "$(cat /tmp/nbdp.pid)" 2>/dev/null
  cat /tmp/nbdp.out | tr '\n' ' '
}

crash_suite() {
  crash_setup
  set_workload "$CRASH_MB" 0 0 0
  i=1
  while [ "$i" -le "${CRASH_RUNS:-0}" ]; do
    run_crash_nfs $i
    i=$((i + 1))
  done
  P=nbd/
  before=$failures
  check connect c_nbd_persist
  check mkfs-ext4 mkfs.ext4 -q -F /dev/nbd0
  check mount mount -t ext4 /dev/nbd0 $MP
  [ "$failures" -eq "$before" ] || return
  check "write-load-server-killed-${CRASH_KILLS}x" c_nbd_load
  check sync sync
  check verify-after-drop-caches c_nbd_verify
  check umount umount $MP
  check e2fsck-clean e2fsck -fn /dev/nbd0
  check disconnect c_nbd_end
  check kernel-log-clean c_crash_log
}
