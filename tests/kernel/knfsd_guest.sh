# knfsd_guest.sh — sourced by guest_checks.sh when KNFSD=1 (the image built
# with build_image.sh --knfsd): the Linux kernel's own NFS server in the guest,
# exporting /srv as the NFSv4 root, so that the NFSv4 checks can be proven
# against a reference server over 127.0.0.1.
#
#   knfsd_start     load nfsd, start rpcbind, rpc.mountd, nfsdcld and rpc.nfsd
#   knfsd_restart   stop every nfsd thread (which drops all NFSv4 state) and
#                   start them again: a server restart with a grace period, in
#                   which the clients reclaim their opens and locks
#
# KNFSD_V3=1 serves NFSv3 as well (knfsd_client_test.ts, where netfs's client
# is the peer); KNFSD_MOUNTD_PORT fixes rpc.mountd's port, so that the host
# can be given a way to it.
#
# The settings that make this quick, each one found by a run that was not:
# - the export needs fsid= (tmpfs has no device number); fsid=0 makes it the
#   NFSv4 root, so the client mounts "/" as it does from our server.
# - lease and grace time at their minimum (10 s): a restart keeps new opens
#   and locks waiting for the whole grace period.
# - lockd's own grace period (50 s by default) holds NFSv4 LOCK back too.
# - nfsdcld records the clients, and nfsd must find it running: a first
#   start without it falls back to the legacy tracking folder, and the
#   restarted server (now with nfsdcld) knows no client, so a reclaim fails
#   with "lost 1 locks" and EIO.
# - max_block_size: the default follows the guest's memory (256 KiB at 1 GiB)
#   and a 1 MiB WRITE from the client then drops its connection.
# - /srv must keep user.* extended attributes (the NFSv4.2 xattr checks):
#   tmpfs does from Linux 6.6 on. The UML kernel is 6.1, whose tmpfs answers
#   EOPNOTSUPP (and knfsd then tells the client the export has no xattr
#   support), so /srv is an ext4 image on a loop device there, its file in
#   the guest's /tmp (memory); discard gives deleted files' memory back.
KNFSD_THREADS=8

knfsd_run() {  # start the threads, NFSv4 only unless KNFSD_V3=1 (lockd still starts: rpcbind)
  if [ "${KNFSD_V3:-0}" = 1 ]; then
    rpc.nfsd "$KNFSD_THREADS"
  else
    rpc.nfsd -N 3 "$KNFSD_THREADS"
  fi
}

knfsd_store() {  # mount the file system to export at /srv and name it
  mount -t tmpfs -o size=768m,mode=0755 tmpfs /srv
  if setfattr -n user.probe -v 1 /srv 2>/dev/null; then
    setfattr -x user.probe /srv
    echo tmpfs
    return
  fi
  umount /srv
  # mkfs.ext4, not mke2fs: busybox sh runs its own applet of that name.
  mkfs.ext4 -q -b 4096 -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 /tmp/srv.ext4 448M >/dev/null
  mount -t ext4 -o loop,discard,noinit_itable /tmp/srv.ext4 /srv
  chmod 0755 /srv
  setfattr -n user.probe -v 1 /srv && setfattr -x user.probe /srv
  echo "ext4 on a loop device (this kernel's tmpfs keeps no user.* attributes)"
}

knfsd_start() {
  while read -r ko; do insmod "$ko" 2>/dev/null || true; done </etc/modules.nfsd
  [ -d /sys/module/nfsd ] || fail "nfsd.ko did not load"
  mount -t nfsd nfsd /proc/fs/nfsd
  mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
  mkdir -p /run/rpcbind
  store=$(knfsd_store)
  echo 3 >/proc/sys/fs/nfs/nlm_timeout
  echo 1 >/proc/sys/fs/nfs/nlm_grace_period
  echo 10 >/proc/fs/nfsd/nfsv4leasetime
  echo 10 >/proc/fs/nfsd/nfsv4gracetime
  echo 1048576 >/proc/fs/nfsd/max_block_size
  rpcbind
  exportfs -o rw,no_root_squash,insecure,no_subtree_check,fsid=0 '*:/srv'
  rpc.mountd ${KNFSD_MOUNTD_PORT:+-p "$KNFSD_MOUNTD_PORT"}
  nfsdcld
  i=0
  until ls -l /proc/"$(pidof nfsdcld)"/fd 2>/dev/null | grep -q cld; do
    i=$((i + 1))
    [ $i -le 50 ] || fail "nfsdcld did not open its pipe in 5 s"
    sleep 0.1
  done
  knfsd_run
  echo "knfsd $(cat /proc/fs/nfsd/versions), $(cat /proc/fs/nfsd/threads) threads, ports $(tr '\n' ' ' </proc/fs/nfsd/portlist)exporting $store"
}

knfsd_restart() {
  rpc.nfsd 0
  [ "$(cat /proc/fs/nfsd/threads)" = 0 ] || fail "nfsd threads still running"
  knfsd_run
  echo restarted
}
