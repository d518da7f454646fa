# nfs42_checks.sh — sourced by guest_checks.sh: the NFSv4.2 checks, sparse
# files and server-side copies (RFC 7862) and user extended attributes
# (RFC 8276), on the mount at $M after the shared workload. /root/sparse
# (sparse.c) makes the system calls busybox has no command for; getfattr and
# setfattr come from Debian's attr package, the cp with --reflink from
# coreutils. Each detail line counts the requests of the operations involved
# (/proc/self/mountstats), which tells the server's work from the client's.
SPARSE=/root/sparse
GNU_CP=/usr/lib/coreutils/cp
MIB=1048576
COPY_MB=64  # the copy checks' file (the issue's 64 MiB)

# mark OP...: note how many requests of these operations the mount at $MP
# has sent (/proc/self/mountstats); delta OP: how many it sent since; sent:
# "OP=N ..." of the noted ones. opcount OP 5 gives the bytes they sent.
opcount() {
  awk -v mp="$MP" -v op="$1:" -v f="${2:-2}" '$1 == "device" { on = $5 == mp; next } on && $1 == op { n = $f } END { print n + 0 }' \
    /proc/self/mountstats
}
mark() {
  : >/tmp/ops.mark
  for op in "$@"; do echo "$op $(opcount "$op")" >>/tmp/ops.mark; done
}
delta() { echo $(($(opcount "$1") - $(awk -v op="$1" '$1 == op { print $2 }' /tmp/ops.mark))); }
sent() {
  while read -r op n; do echo "$op=$(($(opcount "$op") - n))"; done </tmp/ops.mark | tr '\n' ' ' | sed 's/ $//'
}
space() { echo $(($(stat -c '%b * %B' "$1"))); }  # bytes allocated (stat blocks)
md5() { md5sum | cut -d' ' -f1; }

c_fallocate() {
  f=$M/falloc
  printf head >$f
  mark ALLOCATE
  $SPARSE fallocate $f $MIB $((2 * MIB)) >/dev/null
  drop_caches
  [ "$(stat -c %s $f)" -eq $((3 * MIB)) ] || fail "size $(stat -c %s $f) after allocating 1-3 MiB, expected $((3 * MIB))"
  used=$(space $f)
  [ "$used" -ge $((2 * MIB)) ] || fail "$used bytes allocated (stat blocks) after allocating 2 MiB"
  [ "$(head -c 4 $f)" = head ] || fail "the first bytes changed: $(head -c 4 $f)"
  [ "$(tail -c +5 $f | tr -d '\000' | wc -c)" -eq 0 ] || fail "the allocated range does not read as zeros"
  # Inside the file: neither size nor data change.
  $SPARSE fallocate $f 0 $MIB >/dev/null
  drop_caches
  [ "$(stat -c %s $f)" -eq $((3 * MIB)) ] || fail "size $(stat -c %s $f) after allocating 0-1 MiB inside the file"
  [ "$(head -c 4 $f)" = head ] || fail "allocating over the first bytes changed them: $(head -c 4 $f)"
  echo "4 bytes + 2 MiB allocated at 1 MiB: size 3 MiB, $((used / 1024)) KiB used, zeros after the data, allocating inside kept size and data; $(sent)"
}

c_punch_hole() {
  f=$M/punch
  $FSX pattern 3 $((4 * MIB)) | dd of=$f bs=1M iflag=fullblock conv=fsync 2>/tmp/dd.err || fail "dd: $(cat /tmp/dd.err)"
  drop_caches
  used0=$(space $f)
  [ "$used0" -ge $((4 * MIB)) ] || fail "$used0 bytes allocated for 4 MiB of data"
  mark DEALLOCATE
  $SPARSE punch $f $MIB $((2 * MIB)) >/dev/null
  drop_caches
  [ "$(stat -c %s $f)" -eq $((4 * MIB)) ] || fail "size $(stat -c %s $f) after the punch, expected $((4 * MIB)) (KEEP_SIZE)"
  used1=$(space $f)
  # The punched 2 MiB are freed, less what a file system may keep for metadata.
  [ $((used0 - used1)) -ge $((2 * MIB - 65536)) ] || fail "space used went from $used0 to $used1 bytes: the punched 2 MiB were not freed"
  want=$({ $FSX pattern 3 $MIB; head -c $((2 * MIB)) /dev/zero; $FSX pattern 3 $((4 * MIB)) | tail -c $MIB; } | md5)
  got=$(md5 <$f)
  [ "$got" = "$want" ] || fail "content md5 $got, expected $want (zeros at 1-3 MiB, the data around them)"
  rm $f
  echo "4 MiB with 1-3 MiB punched: size kept, $((used0 / 1024)) -> $((used1 / 1024)) KiB used, zeros there and the data around them; $(sent)"
}

# seek_is FILE data|hole OFFSET WANT: SEEK_DATA or SEEK_HOLE from OFFSET gives
# WANT (a position or ENXIO).
seek_is() {
  got=$($SPARSE seek "$1" "$2" "$3")
  [ "$got" = "$4" ] || fail "SEEK_$(echo "$2" | tr a-z A-Z) from $3: $got, expected $4"
}

c_seek_data_hole() {
  # hole 0-1 MiB, data 1-2, hole 2-4, data 4-5, hole 5-6 (to EOF)
  f=$M/holes
  $FSX pattern 4 $MIB | dd of=$f bs=1M seek=1 conv=notrunc,fsync 2>/tmp/dd.err || fail "dd: $(cat /tmp/dd.err)"
  $FSX pattern 5 $MIB | dd of=$f bs=1M seek=4 conv=notrunc,fsync 2>/tmp/dd.err || fail "dd: $(cat /tmp/dd.err)"
  truncate -s $((6 * MIB)) $f
  mark SEEK
  map=$($SPARSE map $f)
  [ "$map" = "$MIB+$MIB $((4 * MIB))+$MIB" ] || fail "data ranges $map, expected $MIB+$MIB $((4 * MIB))+$MIB"
  seek_is $f hole 0 0
  seek_is $f data 0 $MIB
  seek_is $f data $((MIB + 5)) $((MIB + 5))
  seek_is $f hole $MIB $((2 * MIB))
  seek_is $f data $((2 * MIB)) $((4 * MIB))
  seek_is $f hole $((3 * MIB)) $((3 * MIB))
  seek_is $f hole $((4 * MIB + 100)) $((5 * MIB))
  seek_is $f data $((5 * MIB)) ENXIO
  seek_is $f hole $((5 * MIB + 7)) $((5 * MIB + 7))
  seek_is $f data $((6 * MIB)) ENXIO
  seek_is $f hole $((6 * MIB)) ENXIO
  seek_is $f data $((9 * MIB)) ENXIO
  rm $f
  echo "6 MiB with data at 1-2 and 4-5 MiB: map $map, 12 positions right (ENXIO in the trailing hole and from EOF on); $(sent)"
}

# $M/copy-src: COPY_MB MiB of pattern 11, kept for the next copy check; its
# md5 in COPY_SUM.
copy_source() {
  COPY_SUM=$($FSX pattern 11 $((COPY_MB * MIB)) | md5)
  [ -f $M/copy-src ] && return
  $FSX pattern 11 $((COPY_MB * MIB)) | dd of=$M/copy-src bs=1M iflag=fullblock conv=fsync 2>/tmp/dd.err ||
    fail "dd: $(cat /tmp/dd.err)"
}

# same_copy FILE: FILE, read from the server, holds the copy source's bytes.
same_copy() {
  drop_caches
  [ "$(stat -c %s "$1")" -eq $((COPY_MB * MIB)) ] || fail "size of the copy: $(stat -c %s "$1")"
  got=$(md5 <"$1")
  [ "$got" = "$COPY_SUM" ] || fail "md5 of the copy $got, expected $COPY_SUM"
}

c_copy_file_range() {
  copy_source
  sync
  mark COPY READ WRITE
  t0=$(up)
  out=$($SPARSE copy $M/copy-src $M/copy-dst)
  t=$(secs "$t0" "$(up)")
  # The server copied: COPY requests, and no data through the client.
  [ "$(delta COPY)" -ge 1 ] && [ "$(delta READ)" -eq 0 ] && [ "$(delta WRITE)" -eq 0 ] ||
    fail "not copied by the server: $(sent) ($out)"
  ops=$(sent)
  same_copy $M/copy-dst
  # A range at odd offsets into an existing file, after its first bytes.
  printf prefix >$M/copy-part
  $SPARSE copy $M/copy-src $M/copy-part 4097 6 1000000 >/dev/null
  drop_caches
  want=$({ printf prefix; $FSX pattern 11 1004097 | tail -c 1000000; } | md5)
  [ "$(md5 <$M/copy-part)" = "$want" ] || fail "1000000 bytes from 4097 to 6: md5 $(md5 <$M/copy-part), expected $want"
  rm $M/copy-dst $M/copy-part
  echo "$COPY_MB MiB in ${t}s ($out), md5 equal, $ops; 1000000 bytes from offset 4097 to 6 of another file equal"
}

# coreutils' cp tries FICLONE (CLONE), then copy_file_range (COPY), then
# reads and writes: the copy must be right whichever the server allows.
c_cp_reflink_auto() {
  [ -x $GNU_CP ] || fail "no coreutils cp in the image: $GNU_CP"
  copy_source
  sync
  mark CLONE COPY READ WRITE
  t0=$(up)
  $GNU_CP --reflink=auto $M/copy-src $M/copy-cp
  t=$(secs "$t0" "$(up)")
  ops=$(sent)
  same_copy $M/copy-cp
  rm $M/copy-cp $M/copy-src
  echo "$COPY_MB MiB in ${t}s, md5 equal, $ops"
}

# attrs FILE: its user.* attribute names, sorted, on one line.
attrs() { getfattr --absolute-names -m '^user\.' "$1" | grep '^user\.' | sort | tr '\n' ' ' | sed 's/ $//'; }
# value_is FILE NAME WANT: the attribute's value (empty allowed).
value_is() {
  got=$(getfattr --absolute-names --only-values -n "$2" "$1") || fail "getfattr -n $2 $1 failed"
  [ "$got" = "$3" ] || fail "$2 of $1: '$got', expected '$3'"
}
# no_attr FILE NAME: reading the removed attribute fails with ENODATA.
no_attr() {
  if err=$(getfattr --absolute-names -n "$2" "$1" 2>&1); then fail "$2 of $1 is still there: $err"; fi
  case $err in *"No such attribute"*) ;; *) fail "getfattr -n $2 $1 after the remove: $err (expected ENODATA)" ;; esac
}

c_xattr_user() {
  alt_mount
  mkdir $M/xattr
  f=$M/xattr/file
  echo data >$f
  mark SETXATTR GETXATTR LISTXATTRS REMOVEXATTR
  setfattr -n user.color -v blue $f
  setfattr -n user.color -v red $f
  setfattr -n user.empty $f
  # 2000 bytes of binary data, given in hex.
  setfattr -n user.big -v "0x$($FSX pattern 5 2000 | od -An -v -tx1 | tr -d ' \n')" $f
  setfattr -n user.dir -v yes $M/xattr
  drop_caches
  want="user.big user.color user.empty"
  # Through both mounts: the second one's answers come from the server.
  for m in $M $M2; do
    [ "$(attrs $m/xattr/file)" = "$want" ] || fail "attributes through $m: $(attrs $m/xattr/file), expected $want"
    value_is $m/xattr/file user.color red
    value_is $m/xattr/file user.empty ""
    big=$(getfattr --absolute-names --only-values -n user.big $m/xattr/file | md5)
    [ "$big" = "$($FSX pattern 5 2000 | md5)" ] || fail "user.big through $m: md5 $big"
    value_is $m/xattr user.dir yes
  done
  # An ordinary user reads them on a file with mode 644, but may not change them.
  as 1000 "getfattr -n user.color $f" >/dev/null 2>&1 || fail "uid 1000 could not read user.color of a file with mode 644"
  as 1000 "setfattr -n user.color -v green $f" 2>/dev/null && fail "uid 1000 set an attribute of a root file with mode 644"
  as 1000 "setfattr -x user.color $f" 2>/dev/null && fail "uid 1000 removed an attribute of a root file with mode 644"
  setfattr -x user.color $f
  no_attr $f user.color
  if err=$(setfattr -x user.color $f 2>&1); then fail "removing user.color twice succeeded"; fi
  case $err in *"No such attribute"*) ;; *) fail "the second remove: $err (expected ENODATA)" ;; esac
  drop_caches
  for m in $M $M2; do
    no_attr $m/xattr/file user.color
    [ "$(attrs $m/xattr/file)" = "user.big user.empty" ] || fail "after the remove, through $m: $(attrs $m/xattr/file)"
  done
  echo "on a file (replaced, empty, 2000 bytes) and a folder, the same through a second mount; uid 1000 reads, may not change; removed: ENODATA, twice too; $(sent)"
}

c_xattr_restart() {
  alt_mount
  mkdir $M/xrs
  echo data >$M/xrs/file
  setfattr -n user.kept -v before-restart $M/xrs/file
  setfattr -n user.gone -v x $M/xrs/file
  setfattr -x user.gone $M/xrs/file
  sh -e /tmp/restart-server >/dev/null
  drop_caches
  for m in $M $M2; do
    [ "$(attrs $m/xrs/file)" = user.kept ] || fail "attributes through $m after the restart: $(attrs $m/xrs/file), expected user.kept"
    value_is $m/xrs/file user.kept before-restart
  done
  setfattr -n user.after -v 1 $M/xrs/file
  [ "$(attrs $M2/xrs/file)" = "user.after user.kept" ] || fail "set after the restart: $(attrs $M2/xrs/file)"
  echo "user.kept read back through both mounts, the removed one stayed removed, a new one set after the restart"
}
