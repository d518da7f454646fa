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
# /root/kbench is bench/kbench.c, /root/fsx tests/kernel/fsx.c.
set -u
MP=/mnt/b
up() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
cpu() { echo "cpu $1" | nc "$SERVER" "$CTL_PORT"; }
die() { echo "INFO failed: $*"; exit 1; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The client's RPC count per operation on $MP so far: "OPEN 10000" lines.
rpcs() {
  awk -v mp="$MP" '$1 == "device" { on = ($5 == mp) } on && /^[ \t]+[A-Z_0-9]+: [0-9]/ { if ($2 > 0) print substr($1, 1, length($1) - 1), $2 }' /proc/self/mountstats
}

# result NAME REP PHASE WORK CPU0 T0 [SECONDS]: one RESULT line, the phase's
# server CPU taken now (SECONDS defaults to the uptime since T0), then the
# RPCS line: what the client sent since the last rpcs >/tmp/rpcs.
result() {
  c1=$(cpu "$1")
  s=${7:-$(secs "$6" "$(up)")}
  echo "RESULT $1 $2 $3 $s $4 $(awk -v a="$5" -v b="$c1" 'BEGIN{printf "%.2f", b-a}')"
  rpcs >/tmp/rpcs.new
  echo "RPCS $1 $2 $3 $(awk 'NR == FNR { a[$1] = $2; next } $2 - a[$1] > 0 { printf "%s=%d ", $1, $2 - a[$1] }' /tmp/rpcs /tmp/rpcs.new)"
  mv /tmp/rpcs.new /tmp/rpcs
}

# One server, once: mount, dd write and read, the metadata loop, umount.
visit() {
  name=$1 port=$2 path=$3 rep=$4
  mkdir -p $MP
  mount.nfs "$SERVER:$path" $MP -o "$NFS_OPTS,port=$port" || die "mount $name"
  [ "$rep" = 1 ] && echo "INFO $name $(grep " $MP " /proc/mounts)"
  d=$MP/kbench-$rep
  mkdir $d || die "mkdir on $name"

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

  for phase in create stat remove; do
    # Every stat and remove goes to the server, not to the client's caches.
    [ $phase = create ] || drop_caches
    rpcs >/tmp/rpcs
    c0=$(cpu "$name")
    s=$(/root/kbench $phase $d "$FILES") || die "$phase on $name"
    result "$name" "$rep" $phase "$FILES" "$c0" 0 "$s"
  done
  rmdir $d
  umount $MP || die "umount $name"
}

echo "INFO kernel $(uname -r), $REPS repetitions, $BIG_MB MiB, $FILES files, $NFS_OPTS"
/root/fsx pattern 7 $((BIG_MB * 1048576)) >/tmp/pattern || die "pattern"
n=$(echo $SERVERS | wc -w)
rep=1
while [ $rep -le "$REPS" ]; do
  # Rotated by one server per repetition.
  i=0
  while [ $i -lt "$n" ]; do
    spec=$(echo $SERVERS | cut -d' ' -f$(((i + rep - 1) % n + 1)))
    rest=${spec#*:}
    visit "${spec%%:*}" "${rest%%:*}" "${rest#*:}" $rep
    i=$((i + 1))
  done
  rep=$((rep + 1))
done
dmesg | grep -iE 'error|stale|lost' | head -5 | sed 's/^/INFO kernel log: /'
exit 0
