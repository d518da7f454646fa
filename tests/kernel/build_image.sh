#!/usr/bin/env bash
# build_image.sh OUTDIR [--knfsd] — build the user-mode Linux guest that the
# kernel suite (tests/kernel/kernel_test.ts) boots to run Linux's own NFS and
# NBD clients.
#
# Produces OUTDIR/linux.uml (Debian's user-mode-linux 6.1 kernel, an ordinary
# host program), OUTDIR/initramfs.cpio (busybox, mount.nfs, nbd-client, mke2fs,
# e2fsck, getfattr and setfattr from attr, coreutils' cp as
# /usr/lib/coreutils/cp, their libraries, the NFS and NBD kernel modules and
# /init) and OUTDIR/IMAGE-INFO. The test keys its cache folder by a hash of
# this file, so any edit here rebuilds the image.
#
# --knfsd adds the Linux kernel's own NFS server, the reference the NFSv4
# checks are proven against (knfsd_test.ts): nfsd.ko and its modules (as the
# group /etc/modules.nfsd, which /init does not load), rpc.nfsd, rpc.mountd,
# exportfs, nfsdcld and rpcbind with their libraries, /var/lib/nfs and /srv,
# and loop.ko (knfsd_guest.sh exports an ext4 image where tmpfs keeps no
# user.* attributes).
#
# Needs root, apt and dpkg, and the host tools kmod (depmod, modprobe) and cpio.
# Guest packages are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`: nothing is installed on the host, so no rpcbind or nbd-client
# service ever starts there.
set -euo pipefail

OUT=${1:?usage: build_image.sh OUTDIR [--knfsd]}
KNFSD=0
case ${2:-} in
  '') ;;
  --knfsd) KNFSD=1 ;;
  *) echo "build_image.sh: unknown option: $2" >&2; exit 2 ;;
esac
t0=$(date +%s)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/.build
rm -rf "$WORK"
mkdir -p "$WORK/debs"

for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio; do
  command -v "$tool" >/dev/null || { echo "build_image.sh: missing host tool: $tool" >&2; exit 2; }
done

# --- guest packages (downloaded, never installed) -----------------------------
TOOLS=(user-mode-linux busybox-static nfs-common nbd-client e2fsprogs attr coreutils)
((KNFSD)) && TOOLS+=(nfs-kernel-server rpcbind)
# The library packages the tools need, found through apt's dependency data
# (only lib* packages, recursively), so that the names are right on every
# Debian and Ubuntu release (libtirpc3 or libtirpc3t64 ...).
lib_closure() {
  local -A seen=()
  local level=("$@") next d
  while ((${#level[@]})); do
    next=()
    while read -r d; do
      [[ $d == lib* && -z ${seen[$d]:-} ]] || continue
      seen[$d]=1
      next+=("$d")
    done < <(apt-cache depends "${level[@]}" 2>/dev/null |
      awk '$1 ~ /^[|]?(Pre)?Depends:$/ && $2 !~ /^</ {sub(/:.*/, "", $2); print $2}')
    level=(${next[@]+"${next[@]}"})
  done
  printf '%s\n' "${!seen[@]}"
}
apt-cache show user-mode-linux >/dev/null 2>&1 || apt-get update -qq >/dev/null 2>&1 || true
mapfile -t LIBS < <(lib_closure "${TOOLS[@]:2}" | sort)
((${#LIBS[@]})) || { echo "build_image.sh: apt knows no dependencies of nfs-common (apt-get update?)" >&2; exit 1; }
PKGS=("${TOOLS[@]}" "${LIBS[@]}")
(cd "$WORK/debs" && apt-get download "${PKGS[@]}" >/dev/null 2>"$WORK/download.err") ||
  { cat "$WORK/download.err" >&2; exit 1; }
t_dl=$(date +%s)

ROOTFS=$WORK/extract
mkdir -p "$ROOTFS"
for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$ROOTFS"; done

# --- userland -----------------------------------------------------------------
IR=$WORK/initramfs
mkdir -p "$IR"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,root,lib64,lib/x86_64-linux-gnu}
# in_root PATH...: the first of these package paths that exists (releases with
# merged /usr ship /usr/sbin/mount.nfs, older ones /sbin/mount.nfs).
in_root() {
  local p
  for p in "$@"; do [[ -e "$ROOTFS/$p" ]] && { echo "$ROOTFS/$p"; return 0; }; done
  echo "build_image.sh: none of these is in the packages: $*" >&2
  return 1
}
tool() { in_root "sbin/$1" "usr/sbin/$1" "bin/$1" "usr/bin/$1"; }
# real_file PATH: follow symlinks inside the unpacked packages (an absolute
# link such as /lib64/ld-linux-x86-64.so.2 must not lead to the host's copy).
real_file() {
  local f=$1 t n=0
  while [[ -L $f ]] && ((n++ < 20)); do
    t=$(readlink "$f")
    if [[ $t == /* ]]; then f=$ROOTFS$t; else f=$(dirname "$f")/$t; fi
  done
  [[ -f $f ]] || { echo "build_image.sh: no file behind $1" >&2; return 1; }
  echo "$f"
}
BUSYBOX=$(tool busybox)
cp "$BUSYBOX" "$IR/bin/busybox"
# Every applet busybox has; the static binary runs on the host too.
for applet in $("$BUSYBOX" --list); do
  [[ $applet == busybox ]] || ln -sf /bin/busybox "$IR/bin/$applet"
done
# The real tools go to /sbin, which comes first in the guest's PATH (busybox
# has its own, smaller mke2fs).
BINS=(mount.nfs umount.nfs nbd-client mke2fs e2fsck getfattr setfattr)
((KNFSD)) && BINS+=(rpc.nfsd rpc.mountd exportfs nfsdcld rpcbind)
LINKED=()  # the package files of the dynamically linked programs
for b in "${BINS[@]}"; do
  LINKED+=("$(tool "$b")")
  install -D -m 0755 "${LINKED[-1]}" "$IR/sbin/$b"
done
# coreutils' cp, for cp --reflink: off the PATH, so that busybox's stays the
# guest's cp.
LINKED+=("$(in_root bin/cp usr/bin/cp)")
install -D -m 0755 "${LINKED[-1]}" "$IR/usr/lib/coreutils/cp"
for n in mkfs.ext4 mke2fs.ext4; do ln -sf mke2fs "$IR/sbin/$n"; done
ln -sf e2fsck "$IR/sbin/fsck.ext4"

# Shared libraries, resolved against the downloaded packages only.
# The downloaded loader lists what each tool needs (the host's ldd might be
# another glibc).
LDSO=$(real_file "$(in_root lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
  lib64/ld-linux-x86-64.so.2 usr/lib64/ld-linux-x86-64.so.2)")
install -m 0755 "$LDSO" "$IR/lib64/ld-linux-x86-64.so.2"
LIBDIRS=("$ROOTFS/lib/x86_64-linux-gnu" "$ROOTFS/usr/lib/x86_64-linux-gnu")
missing=0
for p in "${LINKED[@]}"; do
  b=${p#"$ROOTFS"/}
  while read -r line; do
    case "$line" in
      *"not found"*) echo "missing library for $b: $line" >&2; missing=1 ;;
      *"=> /"*)
        name=$(basename "$(awk '{print $3}' <<<"$line")")
        src=
        for d in "${LIBDIRS[@]}"; do [[ -e "$d/$name" ]] && { src=$d/$name; break; }; done
        [[ -n "$src" ]] || { echo "library $name ($b) is in no downloaded package" >&2; missing=1; continue; }
        install -m 0755 "$(real_file "$src")" "$IR/lib/x86_64-linux-gnu/$name" ;;
    esac
  done < <("$LDSO" --library-path "$(IFS=:; echo "${LIBDIRS[*]}")" --list "$p")
done
((missing == 0)) || exit 1

# mount.nfs (libtirpc) fails without /etc/netconfig; /etc/mtab must be the
# kernel's table, or libmount tries to update a file.
cp "$(in_root etc/netconfig)" "$IR/etc/netconfig"
printf 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$IR/etc/passwd"
printf 'root:x:0:\ntester:x:1000:\nnogroup:x:65534:\n' >"$IR/etc/group"
printf 'hosts: files\npasswd: files\ngroup: files\n' >"$IR/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$IR/etc/hosts"
printf 'ip 0 IP\nicmp 1 ICMP\ntcp 6 TCP\nudp 17 UDP\n' >"$IR/etc/protocols"
printf 'sunrpc 111/tcp\nnfs 2049/tcp\nnbd 10809/tcp\n' >"$IR/etc/services"
: >"$IR/etc/fstab"
ln -sf /proc/self/mounts "$IR/etc/mtab"
if ((KNFSD)); then
  # rpcbind drops to _rpc; nfsd's user-space helpers keep state in
  # /var/lib/nfs and the kernel's rpcbind client looks in /var/run.
  echo '_rpc:x:100:65534::/run/rpcbind:/bin/false' >>"$IR/etc/passwd"
  mkdir -p "$IR"/var/lib/nfs/{rpc_pipefs,v4recovery,nfsdcld} "$IR/srv"
  : >"$IR/var/lib/nfs/etab"
  : >"$IR/var/lib/nfs/rmtab"
  : >"$IR/etc/exports"
  ln -sfn /run "$IR/var/run"
  printf 'portmapper 100000 sunrpc\nnfs 100003\nmountd 100005\nnlockmgr 100021\nstatus 100024\nnfs_acl 100227\n' >"$IR/etc/rpc"
fi

cat >"$IR/init" <<'EOF'
#!/bin/sh
# PID 1 of the guest. Reads /run/guest.env (written per run by run_guest.sh),
# loads the NFS and NBD modules, configures the network, runs /run/guest.sh
# with its output on /dev/tty1 (a file on the host), reports its exit status
# and powers off.
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /mnt
. /run/guest.env
for g in nfs nbd; do
  while read -r ko; do
    # Shared dependencies are listed once per group: "already loaded" is fine.
    insmod "$ko" 2>/dev/null || true
  done </etc/modules.$g
done
ip link set lo up
IF=$(ls /sys/class/net | grep -v '^lo$' | head -1)
if [ -n "$IF" ]; then
  ip link set "$IF" up
  ip addr add "$GUEST_CIDR" dev "$IF"
  # No default route: the guest reaches only the host end of its tap.
  i=0
  while [ $i -lt 50 ] && [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" != 1 ]; do
    i=$((i + 1)); sleep 0.1
  done
fi
stty -F /dev/tty1 raw -echo 2>/dev/null
(
  echo "=== GUEST READY uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r) ==="
  cd /root
  sh /run/guest.sh
  echo "=== GUEST EXIT $? uptime=$(cut -d' ' -f1 /proc/uptime)s ==="
) >/dev/tty1 2>&1 </dev/null
sync
poweroff -f
EOF
chmod 0755 "$IR/init"

# --- kernel and modules ---------------------------------------------------------
install -m 0755 "$(tool linux.uml)" "$OUT/linux.uml"
UVER=$(ls "$ROOTFS/usr/lib/uml/modules" | head -1)
UROOT=$WORK/umlroot
mkdir -p "$UROOT/lib"
ln -s "$ROOTFS/usr/lib/uml/modules" "$UROOT/lib/modules"
depmod -b "$UROOT" "$UVER"
# add_modules GROUP MODULE...: copy modules and their dependencies, recording the
# load order that modprobe computes on the host (UML has ext4 and its network
# driver built in; NFS, sunrpc, lockd and nbd are modules).
add_modules() {
  local g=$1; shift
  touch "$IR/etc/modules.$g"
  for m in "$@"; do
    modprobe -d "$UROOT" -S "$UVER" --show-depends "$m" | awk '$1=="insmod"{print $2}' |
    while read -r ko; do
      rel=/lib/modules/$UVER/${ko#"$UROOT/lib/modules/$UVER/"}
      grep -qxF "$rel" "$IR/etc/modules.$g" && continue
      install -D -m 0644 "$(readlink -f "$ko")" "$IR$rel"
      echo "$rel" >>"$IR/etc/modules.$g"
    done
  done
}
add_modules nfs nfs nfsv2 nfsv3 nfsv4
add_modules nbd nbd
((KNFSD)) && add_modules nfsd nfsd loop
# Uncompressed, so that the per-run cpio can simply be appended.
(cd "$IR" && find . -print0 | cpio --null -o -H newc --quiet) >"$OUT/initramfs.cpio"

t1=$(date +%s)
{
  echo "uml_kernel_version=$UVER"
  echo "knfsd=$KNFSD"
  echo "download_seconds=$((t_dl - t0))"
  echo "build_seconds=$((t1 - t0))"
  for d in "$WORK"/debs/*.deb; do echo "pkg: $(dpkg-deb -f "$d" Package)=$(dpkg-deb -f "$d" Version)"; done
} >"$OUT/IMAGE-INFO"
rm -rf "$WORK"
