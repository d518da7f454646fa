#!/usr/bin/env bash
# build_image.sh OUTDIR — build the user-mode Linux guest that the kernel suite
# (tests/kernel/kernel_test.ts) boots to run Linux's own NFS and NBD clients.
#
# Produces OUTDIR/linux.uml (Debian's user-mode-linux 6.1 kernel, an ordinary
# host program), OUTDIR/initramfs.cpio (busybox, mount.nfs, nbd-client, mke2fs,
# e2fsck, their libraries, the NFS and NBD kernel modules and /init) and
# OUTDIR/IMAGE-INFO. The test keys its cache folder by a hash of this file, so
# any edit here rebuilds the image.
#
# Needs root, apt and dpkg, and the host tools kmod (depmod, modprobe) and cpio.
# Guest packages are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`: nothing is installed on the host, so no rpcbind or nbd-client
# service ever starts there.
set -euo pipefail

OUT=${1:?usage: build_image.sh OUTDIR}
t0=$(date +%s)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/.build
rm -rf "$WORK"
mkdir -p "$WORK/debs"

for tool in apt-get dpkg-deb depmod modprobe cpio ldd; do
  command -v "$tool" >/dev/null || { echo "build_image.sh: missing host tool: $tool" >&2; exit 2; }
done

# --- guest packages (downloaded, never installed) -----------------------------
PKGS=(user-mode-linux busybox-static nfs-common nbd-client e2fsprogs
      libtirpc3 libtirpc-common libmount1 libblkid1 libselinux1 libpcre2-8-0
      libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2
      libkeyutils1 libgnutls30 libnl-3-200 libnl-genl-3-200 libp11-kit0
      libidn2-0 libunistring2 libtasn1-6 libnettle8 libhogweed6 libgmp10
      libffi8 libext2fs2 libuuid1 libc6)
download() { (cd "$WORK/debs" && apt-get download "${PKGS[@]}" >/dev/null 2>"$WORK/download.err"); }
if ! download; then
  # A fresh machine may have no package lists yet.
  apt-get update -qq >/dev/null 2>&1 || true
  download || { cat "$WORK/download.err" >&2; exit 1; }
fi
t_dl=$(date +%s)

ROOTFS=$WORK/extract
mkdir -p "$ROOTFS"
for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$ROOTFS"; done

# --- userland -----------------------------------------------------------------
IR=$WORK/initramfs
mkdir -p "$IR"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,root,lib64,lib/x86_64-linux-gnu}
cp "$ROOTFS/bin/busybox" "$IR/bin/busybox"
# Every applet busybox has; the static binary runs on the host too.
for applet in $("$ROOTFS/bin/busybox" --list); do
  [[ $applet == busybox ]] || ln -sf /bin/busybox "$IR/bin/$applet"
done
# The real tools go to /sbin, which comes first in the guest's PATH (busybox
# has its own, smaller mke2fs).
for b in mount.nfs umount.nfs nbd-client mke2fs e2fsck; do
  install -D -m 0755 "$ROOTFS/sbin/$b" "$IR/sbin/$b"
done
for n in mkfs.ext4 mke2fs.ext4; do ln -sf mke2fs "$IR/sbin/$n"; done
ln -sf e2fsck "$IR/sbin/fsck.ext4"

# Shared libraries, resolved against the downloaded packages only.
LIBDIRS=("$ROOTFS/lib/x86_64-linux-gnu" "$ROOTFS/usr/lib/x86_64-linux-gnu")
missing=0
for b in mount.nfs umount.nfs nbd-client mke2fs e2fsck; do
  while read -r line; do
    case "$line" in
      *"not found"*) echo "missing library for $b: $line" >&2; missing=1 ;;
      *"=> /"*)
        name=$(basename "$(awk '{print $3}' <<<"$line")")
        src=
        for d in "${LIBDIRS[@]}"; do [[ -e "$d/$name" ]] && { src=$d/$name; break; }; done
        [[ -n "$src" ]] || { echo "library $name ($b) is in no downloaded package" >&2; missing=1; continue; }
        install -m 0755 "$(readlink -f "$src")" "$IR/lib/x86_64-linux-gnu/$name" ;;
    esac
  done < <(LD_LIBRARY_PATH=$(IFS=:; echo "${LIBDIRS[*]}") ldd "$ROOTFS/sbin/$b")
done
((missing == 0)) || exit 1
install -m 0755 "$(readlink -f "$ROOTFS/lib64/ld-linux-x86-64.so.2")" "$IR/lib64/ld-linux-x86-64.so.2"

# mount.nfs (libtirpc) fails without /etc/netconfig; /etc/mtab must be the
# kernel's table, or libmount tries to update a file.
cp "$ROOTFS/etc/netconfig" "$IR/etc/netconfig"
printf 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$IR/etc/passwd"
printf 'root:x:0:\ntester:x:1000:\nnogroup:x:65534:\n' >"$IR/etc/group"
printf 'hosts: files\npasswd: files\ngroup: files\n' >"$IR/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$IR/etc/hosts"
printf 'ip 0 IP\nicmp 1 ICMP\ntcp 6 TCP\nudp 17 UDP\n' >"$IR/etc/protocols"
printf 'sunrpc 111/tcp\nnfs 2049/tcp\nnbd 10809/tcp\n' >"$IR/etc/services"
: >"$IR/etc/fstab"
ln -sf /proc/self/mounts "$IR/etc/mtab"

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
install -m 0755 "$ROOTFS/usr/bin/linux.uml" "$OUT/linux.uml"
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
add_modules nfs nfs nfsv3 nfsv4
add_modules nbd nbd
# Uncompressed, so that the per-run cpio can simply be appended.
(cd "$IR" && find . -print0 | cpio --null -o -H newc --quiet) >"$OUT/initramfs.cpio"

t1=$(date +%s)
{
  echo "uml_kernel_version=$UVER"
  echo "download_seconds=$((t_dl - t0))"
  echo "build_seconds=$((t1 - t0))"
  for d in "$WORK"/debs/*.deb; do echo "pkg: $(dpkg-deb -f "$d" Package)=$(dpkg-deb -f "$d" Version)"; done
} >"$OUT/IMAGE-INFO"
rm -rf "$WORK"
