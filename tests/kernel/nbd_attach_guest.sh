# nbd_attach_guest.sh — runs inside the user-mode Linux guest (busybox sh,
# root) for nbd_attach_test.ts: reaches the host's deno, its libraries and
# this repository through hostfs (UML's host file system), then runs
# nbd_attach_guest.ts, which prints the CHECK lines. The repository and the
# image folder are mounted at the paths they have on the host, so file URLs
# and the image's path read the same on both sides.
#
# Environment (run_guest.sh --env): DENO_BIN_DIR (the folder of the host's
# deno), HOST_LIBDIR (the host's x86_64 library folder, with its loader),
# REPO (the repository), IMAGE_DIR (the folder of the file device's image),
# NBD_PORT (the host's netfs server, forwarded to $SERVER).
set -u
mkdir -p /host/deno /host/lib "$REPO" "$IMAGE_DIR" /tmp/h
mount -t hostfs none /host/deno -o "$DENO_BIN_DIR" || exit 2
mount -t hostfs none /host/lib -o "$HOST_LIBDIR" || exit 2
mount -t hostfs none "$REPO" -o "$REPO" || exit 2
mount -t hostfs none "$IMAGE_DIR" -o "$IMAGE_DIR" || exit 2
export HOME=/tmp/h DENO_DIR=/tmp/h/deno NO_COLOR=1
export LDSO=/host/lib/ld-linux-x86-64.so.2 LIBDIR=/host/lib DENO_BIN=/host/deno/deno
export IMAGE="$IMAGE_DIR/disk.img"
echo "INFO nbd devices: $(ls /sys/block | grep -c nbd), netlink family via $(cat /sys/module/nbd/parameters/nbds_max 2>/dev/null) nbds_max"
"$LDSO" --library-path "$LIBDIR" "$DENO_BIN" run --allow-ffi --allow-run \
  --allow-read --allow-write --allow-net --allow-env --allow-sys \
  "$REPO/tests/kernel/nbd_attach_guest.ts"
rc=$?
echo "INFO dmesg tail:"
dmesg | tail -25 | sed 's/^/INFO   /'
exit $rc
