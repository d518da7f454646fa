# host_checks.sh — sourced by guest_checks.sh: the checks that compare what
# the guest sees with the export's folder on the host, for a LocalFs export on
# the native engine (kernel_test.ts's localfs boot), and the mounts of `netfs
# serve nfs`, which kernel_test.ts runs as a subprocess.
#
# The host answers on the control port ($CTL_PORT):
#   stat REL         "INODE MODE MAJOR MINOR UID" of REL in the export, from
#                    Deno.lstat (mode, major and minor in hex), the format of
#                    `stat -c '%i %f %t %T %u'`
#   serve-file NAME  "UID:GID CONTENT" of NAME in the folder `netfs serve nfs`
#                    exports (its first line)
# and has made, before the boot, /symlinks in the export: sub/inside.txt,
# in -> sub, back -> ../symlinks/sub (both inside), up -> ../.. and
# abs -> /etc (both leave the export).

# host_stat PATH: the host's answer for PATH, a path in the guest under $MP.
host_stat() {
  case $1 in
    "$MP") rel=. ;;
    *) rel=${1#"$MP"/} ;;
  esac
  ask "stat $rel"
}
# same_as_host PATH: inode, type and mode, rdev and owner alike on both sides.
same_as_host() {
  g=$(stat -c '%i %f %t %T %u' "$1")
  h=$(host_stat "$1")
  [ "$g" = "$h" ] || fail "$1: guest '$g', host '$h' (inode mode major minor uid)"
}

c_inode_host() {
  mkdir $M/ino $M/ino/dir
  echo inode >$M/ino/file
  ln $M/ino/file $M/ino/hard
  ln -s file $M/ino/link
  drop_caches
  n=0
  for f in $MP $M $M/ino $M/ino/dir $M/ino/file $M/ino/hard $M/ino/link; do
    same_as_host "$f"
    n=$((n + 1))
  done
  # The fileids of a listing (READDIR/READDIRPLUS entries) too.
  drop_caches
  ls -1i $M/ino >/tmp/lsi
  [ "$(wc -l </tmp/lsi)" -eq 4 ] || fail "ls -i: $(cat /tmp/lsi)"
  while read -r ino name; do
    h=$(host_stat "$M/ino/$name")
    [ "$ino" = "${h%% *}" ] || fail "ls -i $name: $ino, host inode ${h%% *}"
  done </tmp/lsi
  [ "$(stat -c %i $M/ino/file)" = "$(stat -c %i $M/ino/hard)" ] || fail "hard links differ"
  echo "$n objects (the mount's root too) and 4 ls -i entries: guest inode = host inode, e.g. file $(stat -c %i $M/ino/file)"
}

c_mknod() {
  mkdir $M/dev
  mknod $M/dev/fifo p
  mknod -m 620 $M/dev/null c 1 3
  mknod -m 600 $M/dev/loop b 7 200
  drop_caches
  [ "$(stat -c '%F %a' $M/dev/fifo)" = "fifo 644" ] || fail "fifo: $(stat -c '%F %a' $M/dev/fifo)"
  [ "$(stat -c '%F %t:%T %a' $M/dev/null)" = "character special file 1:3 620" ] ||
    fail "char device: $(stat -c '%F %t:%T %a' $M/dev/null)"
  [ "$(stat -c '%F %t:%T %a' $M/dev/loop)" = "block special file 7:c8 600" ] ||
    fail "block device: $(stat -c '%F %t:%T %a' $M/dev/loop)"
  for f in fifo null loop; do same_as_host $M/dev/$f; done
  # They work as what they are in the guest: a fifo carries a line from a
  # writer to a reader; the 1:3 node is the guest's /dev/null.
  timeout 10 sh -c "echo through >$M/dev/fifo" &
  got=$(timeout 10 cat $M/dev/fifo)
  wait
  [ "$got" = through ] || fail "read through the fifo: '$got'"
  echo discarded >$M/dev/null
  [ "$(head -c 1 $M/dev/null | wc -c)" -eq 0 ] || fail "the 1:3 node read data"
  [ "$(stat -c %s $M/dev/null)" -eq 0 ] || fail "the 1:3 node has a size"
  echo "fifo (a line through it), char 1:3 (the guest's /dev/null), block 7:200; type, mode, rdev, owner and inode as on the host"
}

# mount_link LINK: mount /symlinks/LINK on /mnt/sl (a second superblock), and
# print its listing and inside.txt, then unmount.
mount_link() {
  mount_nfs "$SERVER:/symlinks/$1" /mnt/sl "$NFS_OPTS,nosharecache" 2>/tmp/sl.err || return 1
  ls /mnt/sl | tr '\n' ' '
  cat /mnt/sl/inside.txt 2>/dev/null || true
  umount /mnt/sl
}

c_mount_symlink() {
  mkdir -p /mnt/sl
  for l in in back; do
    got=$(mount_link $l) || fail "/symlinks/$l: $(cat /tmp/sl.err)"
    [ "$got" = "inside.txt inside the linked folder" ] || fail "/symlinks/$l shows: $got"
  done
  case ",$NFS_OPTS," in
    *,vers=4*)
      # NFSv4 has no MOUNT: the client walks the path from the server's root
      # itself (LOOKUP, READLINK) and follows the links there, with that root
      # as its root: ".." stops at it and "/" is it.
      got=$(mount_link up) || fail "/symlinks/up: $(cat /tmp/sl.err)"
      case " $got " in *" symlinks "*) ;; *) fail "/symlinks/up is not the export's root: $got" ;; esac
      case "$got" in *netfs-kernel-*) fail "/symlinks/up shows the host's /tmp: $got" ;; esac
      if got=$(mount_link abs); then fail "/symlinks/abs (to /etc) mounted: $got"; fi
      grep -q "No such file" /tmp/sl.err || fail "/symlinks/abs: $(cat /tmp/sl.err)"
      echo "in, back: the linked folder; up (../..): the export's root, the client stops there; abs (/etc): no such file under the export's root"
      ;;
    *)
      for l in up abs; do
        if got=$(mount_link $l); then fail "/symlinks/$l mounted: $got"; fi
        grep -q "access denied" /tmp/sl.err || fail "/symlinks/$l: $(cat /tmp/sl.err)"
      done
      echo "in, back: the linked folder; up (../..) and abs (/etc): access denied by MOUNT"
      ;;
  esac
}

# `netfs serve nfs DIR` (cli.ts in a subprocess of the test, scoped
# permissions, default root squash) on its own port: mount, write, read back
# with the page cache dropped, list, the host's copy of the file, df, umount.
c_netfs_serve() {  # NAME OPTIONS
  mkdir -p /mnt/serve
  mount.nfs "$SERVER:/" /mnt/serve -o "$2"
  f=from-guest-$1.txt text="written by the kernel client over $1"
  echo "$text" >/mnt/serve/$f
  sync
  drop_caches
  got=$(cat /mnt/serve/$f) owner=$(stat -c %u:%g /mnt/serve/$f)
  ls=$(ls /mnt/serve | tr '\n' ' ')
  host=$(ask "serve-file $f")
  df=$(df -k /mnt/serve | tail -1 | awk '{print $2}')
  umount /mnt/serve
  [ "$got" = "$text" ] || fail "read back: $got"
  case " $ls" in *" $f "*) ;; *) fail "ls: $ls" ;; esac
  # Root is squashed to 65534 by default.
  [ "$owner" = 65534:65534 ] || fail "owner in the guest: $owner"
  [ "$host" = "65534:65534 $text" ] || fail "the host's file: $host"
  [ "$df" -gt 0 ] || fail "df: $df KiB"
  echo "written, read back, listed, on the host as 65534:65534; df $df KiB"
}

# The netfs-serve/NAME checks, one per SERVE_NAME_i / SERVE_OPTS_i.
serve_runs() {
  P=netfs-serve/
  i=1
  while [ "$i" -le "${SERVE_RUNS:-0}" ]; do
    eval "name=\$SERVE_NAME_$i opts=\$SERVE_OPTS_$i"
    check "$name" c_netfs_serve "$name" "$opts"
    i=$((i + 1))
  done
}
