# guest_checks.sh — runs inside the user-mode Linux guest (busybox sh, root),
# against a netns-local address that run_guest.sh forwards to the servers on
# the host. Prints one line per check, which kernel_test.ts turns into a test
# step:
#   CHECK <name> ok <detail>
#   CHECK <name> fail <detail>
# and INFO lines for context. Exit status 0 iff every check passed.
#
# Environment (from run_guest.sh --env):
#   SUITE       nfs | nbd | knfsd-peer | crash (crash_checks.sh says its variables)
#   SERVER      the host end of the guest's network (set by run_guest.sh)
#   NFS_RUNS    nfs: how many NFS versions this boot runs, one after the other.
#               Run i has NFS_NAME_i (its checks are named NAME/check, and it
#               works in the folder NAME of the export), NFS_PATH_i (export
#               path), NFS_OPTS_i (mount options, ports filled in),
#               NFS_EXTRA_i (the checks after the shared workload, by name, in
#               order: _suites.ts decides which a version runs) and
#               NFS_WORKLOAD_i (its sizes: "BIG_MB DIR_ENTRIES FSX_OPS FSX_SEED")
#   CTL_PORT    nfs: control port; "restart" asks the host to restart the server
#   KNFSD       nfs: 1 = serve the export from the guest's own knfsd over
#               127.0.0.1 (knfsd_guest.sh, image built with --knfsd)
#   KNFSD_V3, KNFSD_MOUNTD_PORT  knfsd-peer: knfsd_guest.sh's settings
#   NBD_PORT    nbd: port; NBD_EXPORT export name; NBD_CONNS connections (-C)
#   BIG_MB      nbd: size of the dd transfer (MiB)
#   DIR_ENTRIES nbd, knfsd-peer: entries in the big directory
#   FSX_OPS     nbd: operations of the fsx run
#   FSX_SEED    nbd: seed of the fsx run
#   SERVE_RUNS  nfs: how many mounts of `netfs serve nfs` follow the NFS runs;
#               mount i has SERVE_NAME_i and SERVE_OPTS_i (host_checks.sh)
# /root/fsx, /root/locks and /root/sparse are the static helpers built from
# fsx.c, locks.c and sparse.c; /root/nfs42_checks.sh holds the NFSv4.2 checks,
# /root/crash_checks.sh the crash suite, /root/host_checks.sh those that
# compare with the host.
# ask LINE: the host's answer to LINE on the control port. nc's input stays
# open until the answer is there (at most 60 s): the forwarder (socat) closes a
# connection half a second after one side ends it, and a server restart on a
# loaded machine takes longer. ASK_FN is also put into restart_script's script.
ASK_FN='ask() {
  o=/tmp/ask.$$
  : >"$o"
  (echo "$1"; i=0; while [ ! -s "$o" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done) |
    nc "$SERVER" "$CTL_PORT" >"$o"
  cat "$o"
  rm -f "$o"
}'
eval "$ASK_FN"
FSX=/root/fsx
LOCKS=/root/locks
MP=/mnt/t    # mount point; the checks work in $M, the mount's root or a folder in it
MP2=/mnt/t2  # a second mount of the same export (nosharecache) for the NFSv4 checks
M=$MP
P=           # prefix of the check names: NAME/ when one boot runs several NFS versions
failures=0
up() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
# check NAME FUNCTION [ARGS...]: run FUNCTION in a subshell with -e, report it.
check() {
  name=$P$1
  shift
  t0=$(up)
  # Not inside "if": a condition context would switch set -e off.
  (set -e; "$@") >/tmp/check.out 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "CHECK $name ok $(secs "$t0" "$(up)")s $(tail -1 /tmp/check.out | tr -d '\r')"
  else
    failures=$((failures + 1))
    echo "CHECK $name fail $(secs "$t0" "$(up)")s: $(tail -8 /tmp/check.out | tr '\n\r' '  ')"
  fi
}
fail() { echo "$*"; return 1; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# mount_nfs TARGET DIR OPTIONS: mount.nfs, except for NFSv2, which Debian 12's
# mount.nfs (nfs-utils 2.6.2) refuses without asking the server ("requested NFS
# version or transport protocol is not supported"). busybox's mount hands the
# options to the kernel as they are, and the kernel's own MOUNT v1 client gets
# the root handle; only the server's address must be given.
mount_nfs() {
  case ",$3," in
    *,vers=2,*) mount -t nfs -o "$3,addr=$SERVER" "$1" "$2" ;;
    *) mount.nfs "$1" "$2" -o "$3" ;;
  esac
}

# --- the file workload, on the file system mounted at $M -----------------------------

c_create_write_read() {
  echo "hello kernel" >$M/hello.txt
  [ "$(cat $M/hello.txt)" = "hello kernel" ] || fail "read back: $(cat $M/hello.txt)"
  drop_caches
  [ "$(cat $M/hello.txt)" = "hello kernel" ] || fail "read after drop_caches: $(cat $M/hello.txt)"
}

c_append() {
  echo "second line" >>$M/hello.txt
  printf 'third' >>$M/hello.txt
  drop_caches
  [ "$(stat -c %s $M/hello.txt)" -eq 30 ] || fail "size $(stat -c %s $M/hello.txt), expected 30"
  [ "$(sed -n 2p $M/hello.txt)" = "second line" ] || fail "line 2: $(sed -n 2p $M/hello.txt)"
  [ "$(tail -c 5 $M/hello.txt)" = third ] || fail "tail: $(tail -c 5 $M/hello.txt)"
}

c_mkdir_deep() {
  p=$M/deep
  for i in $(seq 1 24); do p=$p/level$i; done
  mkdir -p "$p"
  echo bottom >"$p/file"
  drop_caches
  [ -d "$p" ] && [ "$(cat "$p/file")" = bottom ] || fail "bottom file missing"
  [ "$(find $M/deep -type d | wc -l)" -eq 25 ] || fail "find saw $(find $M/deep -type d | wc -l) directories"
  echo "depth 24"
}

c_readdir_big() {
  mkdir $M/big
  seq -w 1 "$DIR_ENTRIES" | sed 's/^/entry-/' >/tmp/want
  t0=$(up)
  (cd $M/big && xargs touch </tmp/want)
  t1=$(up)
  drop_caches
  ls $M/big >/tmp/got
  t2=$(up)
  # ls sorts, so a name listed twice shows up as a difference too.
  cmp /tmp/want /tmp/got || fail "listing differs: $(wc -l </tmp/got) names, $(sort /tmp/got | uniq -d | wc -l) duplicated, $(sort /tmp/want /tmp/got | uniq -u | head -3 | tr '\n' ' ')"
  plain=
  if [ "$SUITE" = nfs ]; then
    # Again through a second mount that uses plain READDIR, not READDIRPLUS.
    mkdir -p /mnt/plain
    mount_nfs "$SERVER:$NFS_PATH" /mnt/plain "$NFS_OPTS,nordirplus,nosharecache"
    ls "/mnt/plain${M#"$MP"}/big" >/tmp/got
    umount /mnt/plain
    cmp /tmp/want /tmp/got || fail "READDIR (nordirplus) listing differs: $(wc -l </tmp/got) names, $(sort /tmp/got | uniq -d | wc -l) duplicated"
    plain=", also with nordirplus"
  fi
  echo "$(wc -l </tmp/got) names, each once$plain (created in $(secs "$t0" "$t1")s, listed in $(secs "$t1" "$t2")s)"
}

c_rm_big() {
  rm -rf $M/big
  [ ! -e $M/big ] || fail "directory still there"
}

c_rename_across() {
  mkdir $M/from $M/to
  echo moving >$M/from/a
  mv $M/from/a $M/to/b
  drop_caches
  [ ! -e $M/from/a ] || fail "source still exists"
  [ "$(cat $M/to/b)" = moving ] || fail "target content: $(cat $M/to/b)"
  [ -z "$(ls $M/from)" ] || fail "from/ not empty: $(ls $M/from)"
}

c_rename_over() {
  echo new >$M/to/new
  echo old >$M/to/old
  mv $M/to/new $M/to/old
  drop_caches
  [ ! -e $M/to/new ] || fail "source still exists"
  [ "$(cat $M/to/old)" = new ] || fail "target content: $(cat $M/to/old)"
  [ "$(ls $M/to | tr '\n' ' ')" = "b old " ] || fail "directory: $(ls $M/to | tr '\n' ' ')"
}

c_hardlink() {
  echo linked >$M/hl
  ln $M/hl $M/hl2
  ln $M/hl $M/to/hl3
  drop_caches
  for f in $M/hl $M/hl2 $M/to/hl3; do
    [ "$(stat -c %h "$f")" -eq 3 ] || fail "nlink of $f: $(stat -c %h "$f")"
  done
  [ "$(stat -c %i $M/hl)" = "$(stat -c %i $M/to/hl3)" ] || fail "inode numbers differ"
  echo more >>$M/to/hl3
  [ "$(sed -n 2p $M/hl)" = more ] || fail "write through one link not seen through the other"
  rm $M/hl2
  drop_caches
  [ "$(stat -c %h $M/hl)" -eq 2 ] || fail "nlink after unlink: $(stat -c %h $M/hl)"
}

c_symlink() {
  ln -s hello.txt $M/sl
  ln -s to $M/sldir
  ln -s does/not/exist $M/dangling
  drop_caches
  [ -L $M/sl ] && [ "$(readlink $M/sl)" = hello.txt ] || fail "readlink: $(readlink $M/sl)"
  [ "$(head -1 $M/sl)" = "hello kernel" ] || fail "read through link"
  [ "$(ls $M/sldir/ | tr '\n' ' ')" = "b hl3 old " ] || fail "directory through link: $(ls $M/sldir/)"
  [ -L $M/dangling ] && [ ! -e $M/dangling ] || fail "dangling link"
  [ "$(stat -c %s $M/dangling)" -eq 14 ] || fail "symlink size: $(stat -c %s $M/dangling)"
}

c_chmod() {
  echo perms >$M/mode
  chmod 640 $M/mode
  [ "$(stat -c %a $M/mode)" = 640 ] || fail "mode $(stat -c %a $M/mode), expected 640"
  chmod 2755 $M/to
  drop_caches
  [ "$(stat -c %a $M/to)" = 2755 ] || fail "directory mode $(stat -c %a $M/to), expected 2755"
  chmod 755 $M/to
  [ "$(stat -c %a $M/mode)" = 640 ] || fail "mode after drop_caches $(stat -c %a $M/mode)"
}

c_chown() {
  echo owned >$M/owned
  chown 1000:1000 $M/owned
  drop_caches
  [ "$(stat -c %u:%g $M/owned)" = 1000:1000 ] || fail "owner $(stat -c %u:%g $M/owned)"
  chown 0:1000 $M/owned
  [ "$(stat -c %u:%g $M/owned)" = 0:1000 ] || fail "owner $(stat -c %u:%g $M/owned)"
}

as() { $FSX runas "$1" "$1" sh -c "$2"; }
c_nonroot() {
  mkdir $M/priv
  chmod 755 $M/priv
  echo root-only >$M/priv/ro
  chmod 644 $M/priv/ro
  echo mine >$M/priv/mine
  chown 1000:1000 $M/priv/mine
  chmod 600 $M/priv/mine
  # What uid 1000 may do (so that the denials below are not a broken client):
  as 1000 "cat $M/priv/ro >/dev/null && echo more >>$M/priv/mine && chmod 640 $M/priv/mine" ||
    fail "uid 1000 could not do what it is allowed to"
  # ... and what it may not:
  as 1000 "echo x >>$M/priv/ro" 2>/dev/null && fail "uid 1000 wrote a root file with mode 644"
  as 1000 "touch $M/priv/new" 2>/dev/null && fail "uid 1000 created a file in a root directory with mode 755"
  as 1000 "rm -f $M/priv/ro" 2>/dev/null && fail "uid 1000 removed a file from a root directory with mode 755"
  as 1000 "chmod 666 $M/priv/ro" 2>/dev/null && fail "uid 1000 changed the mode of a root file"
  as 1000 "chown 1000 $M/priv/ro" 2>/dev/null && fail "uid 1000 took a root file"
  as 1000 "chown 1001 $M/priv/mine" 2>/dev/null && fail "uid 1000 gave its file away"
  as 1001 "cat $M/priv/mine" 2>/dev/null && fail "uid 1001 read a file with mode 640 of uid 1000"
  drop_caches
  [ "$(cat $M/priv/ro)" = root-only ] && [ -e $M/priv/ro ] && [ ! -e $M/priv/new ] || fail "a denied change happened"
  [ "$(stat -c %a:%u $M/priv/ro)" = 644:0 ] || fail "root file is now $(stat -c %a:%u $M/priv/ro)"
  echo "7 denials and the allowed operations as uid 1000/1001"
}

c_truncate() {
  printf '0123456789' >$M/trunc
  truncate -s 1000000 $M/trunc
  drop_caches
  [ "$(stat -c %s $M/trunc)" -eq 1000000 ] || fail "size after growing: $(stat -c %s $M/trunc)"
  [ "$(head -c 10 $M/trunc)" = 0123456789 ] || fail "prefix changed"
  [ "$(tail -c +11 $M/trunc | tr -d '\000' | wc -c)" -eq 0 ] || fail "grown part is not zeros"
  truncate -s 4 $M/trunc
  drop_caches
  [ "$(stat -c %s $M/trunc)" -eq 4 ] || fail "size after shrinking: $(stat -c %s $M/trunc)"
  [ "$(cat $M/trunc)" = 0123 ] || fail "content after shrinking: $(cat $M/trunc)"
  truncate -s 8 $M/trunc
  [ "$(tail -c 4 $M/trunc | tr -d '\000' | wc -c)" -eq 0 ] || fail "old bytes came back after shrink+grow"
}

# set_workload BIG_MB DIR_ENTRIES FSX_OPS FSX_SEED, and the dd data's
# reference checksum, computed outside any check.
set_workload() {
  [ "$1" = "${BIG_MB:-}" ] && [ -n "${WANT_SUM:-}" ] ||
    WANT_SUM=$($FSX pattern 7 $(($1 * 1048576)) | md5sum | cut -d' ' -f1)
  BIG_MB=$1 DIR_ENTRIES=$2 FSX_OPS=$3 FSX_SEED=$4
  BIG=$((BIG_MB * 1048576))
}

c_dd_write() {
  t0=$(up)
  $FSX pattern 7 "$BIG" | dd of=$M/bigfile bs=1M iflag=fullblock conv=fsync 2>/tmp/dd.err || fail "dd: $(cat /tmp/dd.err)"
  t=$(secs "$t0" "$(up)")
  [ "$(stat -c %s $M/bigfile)" -eq "$BIG" ] || fail "size $(stat -c %s $M/bigfile)"
  awk -v s="$t" -v mb="$BIG_MB" 'BEGIN{printf "%d MiB in %.2fs = %.1f MiB/s\n", mb, s, (s > 0 ? mb / s : 0)}'
}

c_dd_read() {
  drop_caches
  t0=$(up)
  got=$(dd if=$M/bigfile bs=1M 2>/tmp/dd.err | md5sum | cut -d' ' -f1)
  t=$(secs "$t0" "$(up)")
  [ "$got" = "$WANT_SUM" ] || fail "md5 $got, expected $WANT_SUM $(cat /tmp/dd.err)"
  rm $M/bigfile
  awk -v s="$t" -v mb="$BIG_MB" -v sum="$got" 'BEGIN{printf "%d MiB in %.2fs = %.1f MiB/s, md5 %s\n", mb, s, (s > 0 ? mb / s : 0), sum}'
}

c_fsx() {
  $FSX run $M/fsx.dat -s "$FSX_SEED" -n "$FSX_OPS" -l 1048576 -o 131072
}

snapshot() {  # a fingerprint of the tree the earlier checks left behind
  (cd $M && find . | sort && find . -type f | sort | xargs md5sum && find . -type l | sort | xargs -n1 readlink &&
    ls -ln hl to/hl3 | awk '{print $1, $2, $3, $4, $5}')
}
c_remount() {
  snapshot >/tmp/before
  umount $MP
  remount
  snapshot >/tmp/after
  cmp /tmp/before /tmp/after || fail "tree changed: $(diff /tmp/before /tmp/after | head -5 | tr '\n' ' ')"
  echo "$(wc -l </tmp/before) lines of tree fingerprint equal"
}

c_server_restart() {
  mkdir $M/rs
  echo before >$M/rs/file
  exec 7<$M/rs/file
  cd $M/rs
  sh -e /tmp/restart-server >/dev/null
  # Everything below uses handles the client got from the old server
  # instance; with the page cache dropped, the read through the descriptor
  # goes to the server too.
  drop_caches
  [ "$(cat <&7)" = before ] || fail "read through a descriptor opened before the restart"
  exec 7<&-
  [ "$(cat file)" = before ] || fail "read by a cached path"
  echo after >>file
  echo new >new
  ls -la . >/dev/null
  drop_caches
  [ "$(cat $M/rs/file | tr '\n' ' ')" = "before after " ] || fail "content $(cat $M/rs/file)"
  [ "$(ls $M/rs | tr '\n' ' ')" = "file new " ] || fail "directory: $(ls $M/rs)"
  cd /
  if dmesg | grep -i stale; then fail "the kernel logged stale handles"; fi
  echo "no ESTALE"
}

# --- NFSv4: locks and exclusive creates the server keeps (locks.c) ------------------
# Each runs through two mounts: a conflict seen through the second one cannot
# come from the kernel's own lock lists.
alt_mount() {
  grep -q " $MP2 " /proc/mounts || mount_nfs "$SERVER:$NFS_PATH" $MP2 "$NFS_OPTS,nosharecache"
}
c_lock_conflict() { alt_mount; $LOCKS conflict "$M/lock-conflict" "$M2/lock-conflict"; }
c_lock_close() { alt_mount; $LOCKS close "$M/lock-close" "$M2/lock-close"; }
c_lock_exit() { alt_mount; $LOCKS exit "$M/lock-exit" "$M2/lock-exit"; }
c_flock() { alt_mount; $LOCKS flock "$M/flock" "$M2/flock"; }

c_open_excl() {
  alt_mount
  mkdir $M/excl
  chmod 1777 $M/excl
  # As an ordinary user: root's writes would pass any permission check.
  out=$($FSX runas 1000 1000 $LOCKS excl $M/excl $M2/excl)
  drop_caches
  [ "$(stat -c '%a %u %s' $M/excl/excl)" = "0 1000 38" ] || fail "mode, owner, size: $(stat -c '%a %u %s' $M/excl/excl)"
  chmod 600 $M/excl/excl
  [ "$(cat $M/excl/excl)" = "written through the O_EXCL descriptor" ] || fail "content: $(cat $M/excl/excl)"
  echo "$out"
}

# Open and locked across a restart: the client reclaims both in the new
# server's grace period (new locks wait for its end, hence the longer timeout).
c_server_restart_locked() {
  alt_mount
  out=$(LOCKS_TIMEOUT=120 $LOCKS restart "$M/rs-locked" "$M2/rs-locked" -- sh -e /tmp/restart-server)
  if dmesg | grep -iE 'stale|lost [0-9]+ locks|reclaim failed'; then fail "the kernel logged lost state"; fi
  echo "$out" | tail -1
}

# --- NFSv4.2: sparse files, copies, extended attributes ------------------------------
. /root/nfs42_checks.sh
. /root/crash_checks.sh

# --- against the host: inode numbers, MKNOD, MOUNT through symlinks, netfs serve ----
. /root/host_checks.sh

# The checks a version runs after the workload, by name (_suites.ts).
extra() {
  case $1 in
    server-restart) check "$1" c_server_restart ;;
    server-restart-locked) check "$1" c_server_restart_locked ;;
    fcntl-lock-conflict) check "$1" c_lock_conflict ;;
    fcntl-lock-released-on-close) check "$1" c_lock_close ;;
    fcntl-lock-released-on-exit) check "$1" c_lock_exit ;;
    flock) check "$1" c_flock ;;
    open-excl) check "$1" c_open_excl ;;
    fallocate) check "$1" c_fallocate ;;
    punch-hole) check "$1" c_punch_hole ;;
    seek-data-hole) check "$1" c_seek_data_hole ;;
    copy-file-range) check "$1" c_copy_file_range ;;
    cp-reflink-auto) check "$1" c_cp_reflink_auto ;;
    xattr-user) check "$1" c_xattr_user ;;
    xattr-restart) check "$1" c_xattr_restart ;;
    inode-is-host-inode) check "$1" c_inode_host ;;
    mknod-fifo-chr-blk) check "$1" c_mknod ;;
    mount-through-symlink) check "$1" c_mount_symlink ;;
    *) failures=$((failures + 1)); echo "CHECK $P$1 fail unknown check" ;;
  esac
}

# Errors the kernel only logs (a failed writeback, a journal error, lost
# NFSv4 locks) while every command above still succeeded.
KERNEL_ERRORS='I/O error|EXT4-fs (error|warning)|WARNING:|BUG:|Call Trace|stale|blk_update_request|buffer_io_error|nfs: .*(error|bad)|lost [0-9]+ locks'
# log_clean PATTERN: the kernel log into /tmp/dmesg, cleared for what comes
# next (the next NFS version of the boot); fails on a line matching PATTERN.
log_clean() {
  dmesg -c >/tmp/dmesg
  if grep -iE "$1" /tmp/dmesg >/tmp/bad; then
    fail "kernel log: $(head -5 /tmp/bad | tr '\n' ' ')"
  fi
}
# ... and here a lost NBD connection too.
c_kernel_log() {
  log_clean "$KERNEL_ERRORS|nbd[0-9]+: (Receive|Send|Dead|Other side|Connection)"
  echo "$(wc -l </tmp/dmesg) kernel log lines, none an error"
}

workload() {
  check create-write-read c_create_write_read
  check append c_append
  check mkdir-deep c_mkdir_deep
  check readdir-$DIR_ENTRIES c_readdir_big
  check rm-rf-$DIR_ENTRIES c_rm_big
  check rename-across-dirs c_rename_across
  check rename-over-existing c_rename_over
  check hardlink-nlink c_hardlink
  check symlink c_symlink
  check chmod c_chmod
  check chown-as-root c_chown
  check nonroot-denied c_nonroot
  check truncate-up-down c_truncate
  check dd-write-${BIG_MB}MiB c_dd_write
  check dd-read-${BIG_MB}MiB c_dd_read
  check fsx c_fsx
  check umount-remount c_remount
}

# --- suites ----------------------------------------------------------------------------

c_mount_nfs() {
  remount
  mkdir -p $M
  grep " $MP " /proc/mounts
}

c_umount_nfs() {
  if grep -q " $MP2 " /proc/mounts; then umount $MP2; fi
  umount $MP
}

# Run i of NFS_RUNS: mount, the workload in the folder NAME, the version's own
# checks, umount. A version that does not mount is skipped.
run_nfs() {
  eval "P=\$NFS_NAME_$1/ NFS_PATH=\$NFS_PATH_$1 NFS_OPTS=\$NFS_OPTS_$1 extras=\$NFS_EXTRA_$1 sizes=\$NFS_WORKLOAD_$1"
  # shellcheck disable=SC2086  # four numbers
  set_workload $sizes
  M=$MP/${P%/} M2=$MP2/${P%/}
  before=$failures
  check mount c_mount_nfs
  if [ "$failures" -ne "$before" ]; then
    echo "INFO ${P%/} did not mount, skipping its checks"
    return
  fi
  workload
  for c in $extras; do extra "$c"; done
  check umount c_umount_nfs
  check kernel-log-clean c_kernel_log
}

# The restart the restart checks ask for: the host restarts the server it
# runs, or knfsd restarts in the guest.
restart_script() {
  if [ "$KNFSD" = 1 ]; then
    printf '%s\n' 'fail() { echo "$*" >&2; exit 1; }' '. /root/knfsd_guest.sh' knfsd_restart
  else
    printf '%s\n' "$ASK_FN" 'r=$(ask restart)' \
      '[ "$r" = restarted ] || { echo "control port said: $r" >&2; exit 1; }' 'echo restarted'
  fi
}

c_nbd_connect() {
  nbd-client -N "$NBD_EXPORT" ${NBD_CONNS:+-C "$NBD_CONNS"} "$SERVER" "$NBD_PORT" /dev/nbd0
  sectors=$(cat /sys/block/nbd0/size)
  [ "$sectors" -gt 0 ] || fail "device has no size"
  echo "$((sectors / 2048)) MiB, ${NBD_CONNS:-1} connection(s)"
}

c_mount_nbd() {
  remount
  grep " $MP " /proc/mounts
}

# knfsd-peer: the Linux kernel's NFS server is the peer of netfs's client,
# which runs in the test process and reaches it through run_guest.sh
# --expose. The guest starts it, fills /srv/many, says "ready" on the control
# port and then asks every half second until the host answers that its client
# is done (busybox nc does not wait long for a reply after its input ends).
c_knfsd_many() {
  mkdir /srv/many
  (cd /srv/many && seq -w 1 "$DIR_ENTRIES" | sed 's/^/entry-/' | xargs touch)
  echo "$(ls /srv/many | wc -l) entries in /srv/many"
}

c_host_client() {
  r=$(ask ready)
  [ "$r" = ok ] || fail "control port said: $r"
  i=0
  while [ $i -lt 400 ]; do
    r=$(ask done?)
    [ "$r" = done ] && { echo "the host's client is done after ${i} polls"; return 0; }
    [ "$r" = wait ] || fail "control port said: $r"
    i=$((i + 1))
    sleep 0.5
  done
  fail "the host's client did not finish in 200 s"
}

# The guest must bail out early when there is nothing mounted to test: the
# host reports every check that never ran as a failure of its own.
stop_unless_ok() { [ "$failures" -eq 0 ] || { echo "INFO stopping after $failures failure(s)"; exit 1; }; }

mkdir -p $MP $MP2
echo "INFO kernel $(uname -r) suite $SUITE"
case $SUITE in
  nfs)
    remount() { mount_nfs "$SERVER:$NFS_PATH" $MP "$NFS_OPTS"; }
    if [ "$KNFSD" = 1 ]; then
      . /root/knfsd_guest.sh
      SERVER=127.0.0.1
      check knfsd-start knfsd_start
      stop_unless_ok
    fi
    restart_script >/tmp/restart-server
    i=1
    while [ "$i" -le "${NFS_RUNS:-0}" ]; do
      run_nfs $i
      i=$((i + 1))
    done
    serve_runs
    ;;
  nbd)
    remount() { mount -t ext4 /dev/nbd0 $MP; }
    set_workload "$BIG_MB" "$DIR_ENTRIES" "$FSX_OPS" "$FSX_SEED"
    check nbd-connect c_nbd_connect
    stop_unless_ok
    check mkfs-ext4 mkfs.ext4 -q -F /dev/nbd0
    check mount c_mount_nbd
    stop_unless_ok
    workload
    check umount umount $MP
    check e2fsck-clean e2fsck -fn /dev/nbd0
    check nbd-disconnect nbd-client -d /dev/nbd0
    check kernel-log-clean c_kernel_log
    ;;
  crash)
    NFS_PATH=/
    remount() { mount_nfs "$SERVER:$NFS_PATH" $MP "$NFS_OPTS"; }
    crash_suite
    ;;
  knfsd-peer)
    . /root/knfsd_guest.sh
    check knfsd-start knfsd_start
    stop_unless_ok
    check knfsd-many c_knfsd_many
    check host-client c_host_client
    ;;
  *) echo "INFO unknown SUITE: $SUITE"; exit 2 ;;
esac
[ "$failures" -eq 0 ]
