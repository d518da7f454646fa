#!/usr/bin/env bash
# run_guest.sh [options] GUEST_SCRIPT — boot the user-mode Linux guest built by
# build_image.sh in a private network namespace, run GUEST_SCRIPT in it as root
# (busybox sh), stream the script's output to stdout line by line, and exit
# with the script's exit status (124 timeout, 125 guest died without one,
# 2 setup error).
#
# Options:
#   --image DIR        folder with linux.uml and initramfs.cpio (required)
#   --forward GP:HP    make 10.213.0.1:GP in the guest's network forward to
#                      127.0.0.1:HP on the host (repeatable): servers run on
#                      the host's loopback, for example inside the test process
#   --expose GP:HP     the other way: make 127.0.0.1:HP on the host forward to
#                      the guest's port GP (10.213.0.2:GP) (repeatable): a
#                      server runs in the guest, its client in the test process
#   --env K=V          variable exported to the guest script (repeatable)
#   --file SRC:DST     copy a host file into the guest at DST (repeatable)
#   --mem MB           guest memory (default 1024)
#   --timeout S        kill the guest after S seconds (default 600)
#   --console FILE     keep the guest kernel's console log in FILE
#
# Network: a new namespace kvmguest-<pid> holds the tap kvmtap0 (10.213.0.1/24)
# the guest is attached to (guest 10.213.0.2/24, no default route). Each
# --forward is two socat processes joined by a unix socket, which is visible
# across namespaces; each --expose is the same pair the other way round (the
# host's end listens on 127.0.0.1, the namespace's end connects to the guest).
# So every guest packet stays inside the namespace, the unix socket and the
# host's loopback, and the namespace goes away with the run.
# shellcheck disable=SC2054  # commas inside UML arguments are intended
set -euo pipefail

IMAGE='' MEM=1024 TIMEOUT=600 CONSOLE='' ENVS=() FILES=() FORWARDS=() EXPOSES=()
while (($#)); do
  case "$1" in
    --image) IMAGE=$2; shift 2 ;;
    --forward) FORWARDS+=("$2"); shift 2 ;;
    --expose) EXPOSES+=("$2"); shift 2 ;;
    --env) ENVS+=("$2"); shift 2 ;;
    --file) FILES+=("$2"); shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --console) CONSOLE=$2; shift 2 ;;
    -*) echo "run_guest.sh: unknown option: $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
(($# == 1)) || { echo "usage: run_guest.sh --image DIR [options] GUEST_SCRIPT" >&2; exit 2; }
SCRIPT=$1
[[ -x "$IMAGE/linux.uml" && -r "$IMAGE/initramfs.cpio" ]] ||
  { echo "run_guest.sh: no guest image in: $IMAGE" >&2; exit 2; }

log() { echo "[run-guest] $*" >&2; }
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
NS=kvmguest-$$ HOST_IP=10.213.0.1 GUEST_IP=10.213.0.2 GUEST_CIDR=10.213.0.2/24
TMP=$(mktemp -d /tmp/netfs-guest.XXXXXX)
GPID='' NS_CREATED=0 FWPIDS=()
kill_group() {  # PGID: TERM, wait up to 3 s, then KILL (only our own setsid groups)
  kill -TERM -- "-$1" 2>/dev/null || return 0
  for _ in $(seq 10); do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 0.3; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
cleanup() {
  set +e
  [[ -n "$GPID" ]] && kill_group "$GPID"
  for p in ${FWPIDS[@]+"${FWPIDS[@]}"}; do kill_group "$p"; done
  [[ $NS_CREATED == 1 ]] && ip netns del "$NS" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- network namespace with the tap ------------------------------------------------
ip netns add "$NS"
NS_CREATED=1
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev kvmtap0 mode tap
ip -n "$NS" addr add "$HOST_IP/24" dev kvmtap0
ip -n "$NS" link set kvmtap0 up

for fw in ${FORWARDS[@]+"${FORWARDS[@]}"}; do
  gp=${fw%%:*} hp=${fw#*:}
  [[ "$gp" =~ ^[0-9]+$ && "$hp" =~ ^[0-9]+$ ]] || { echo "run_guest.sh: bad --forward: $fw" >&2; exit 2; }
  sock=$TMP/fwd-$gp.sock
  setsid socat "UNIX-LISTEN:$sock,fork,mode=600" "TCP:127.0.0.1:$hp" </dev/null >>"$TMP/fwd.log" 2>&1 &
  FWPIDS+=($!)
  for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
  setsid ip netns exec "$NS" socat "TCP-LISTEN:$gp,bind=$HOST_IP,fork,reuseaddr" "UNIX-CONNECT:$sock" \
    </dev/null >>"$TMP/fwd.log" 2>&1 &
  FWPIDS+=($!)
  ok=0
  for _ in $(seq 50); do
    ip netns exec "$NS" ss -Hltn "sport = :$gp" | grep -q . && { ok=1; break; }
    sleep 0.1
  done
  [[ $ok == 1 ]] || { echo "run_guest.sh: forwarder for port $gp did not start" >&2; cat "$TMP/fwd.log" >&2; exit 2; }
done

# Each connection to 127.0.0.1:HP opens one to the guest's GP; until the guest
# listens there, connections open and close at once.
for ex in ${EXPOSES[@]+"${EXPOSES[@]}"}; do
  gp=${ex%%:*} hp=${ex#*:}
  [[ "$gp" =~ ^[0-9]+$ && "$hp" =~ ^[0-9]+$ ]] || { echo "run_guest.sh: bad --expose: $ex" >&2; exit 2; }
  sock=$TMP/exp-$gp.sock
  setsid ip netns exec "$NS" socat "UNIX-LISTEN:$sock,fork,mode=600" "TCP:$GUEST_IP:$gp" \
    </dev/null >>"$TMP/fwd.log" 2>&1 &
  FWPIDS+=($!)
  for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
  setsid socat "TCP-LISTEN:$hp,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$sock" \
    </dev/null >>"$TMP/fwd.log" 2>&1 &
  FWPIDS+=($!)
  ok=0
  for _ in $(seq 50); do
    ss -Hltn "sport = :$hp" | grep -q "127.0.0.1:$hp" && { ok=1; break; }
    sleep 0.1
  done
  [[ $ok == 1 ]] || { echo "run_guest.sh: exposer for guest port $gp did not start" >&2; cat "$TMP/fwd.log" >&2; exit 2; }
done

# --- per-run initramfs overlay: /run/guest.env, /run/guest.sh, --file ----------------
q() { printf "%q" "$1"; }
mkdir -p "$TMP/ov/run" "$TMP/ov/root"
{
  echo "GUEST_CIDR=$GUEST_CIDR"
  echo "export SERVER=$HOST_IP"
  for kv in ${ENVS[@]+"${ENVS[@]}"}; do
    k=${kv%%=*} v=${kv#*=}
    [[ "$k" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "run_guest.sh: bad --env: $kv" >&2; exit 2; }
    echo "export $k=$(q "$v")"
  done
} >"$TMP/ov/run/guest.env"
cp "$SCRIPT" "$TMP/ov/run/guest.sh"
for f in ${FILES[@]+"${FILES[@]}"}; do
  install -D -m 0755 "${f%%:*}" "$TMP/ov/${f#*:}"
done
# The kernel unpacks concatenated newc archives in order.
cp "$IMAGE/initramfs.cpio" "$TMP/initrd"
(cd "$TMP/ov" && find . | cpio -o -H newc --quiet) >>"$TMP/initrd"

# --- boot ------------------------------------------------------------------------------
# con0 (kernel console) -> fd 4 -> console file; con1 (the guest's /dev/tty1)
# -> fd 3 -> output file. gro=1: without it the vector driver drops the GSO
# frames the host tap sends and TCP stalls.
: >"$TMP/out"
: >"$TMP/console"
T_BOOT=$(now)
setsid ip netns exec "$NS" "$IMAGE/linux.uml" "mem=${MEM}M" "initrd=$TMP/initrd" quiet \
  con=null ssl=null con0=null,fd:4 con1=null,fd:3 \
  "vec0:transport=tap,ifname=kvmtap0,depth=128,gro=1" \
  3>>"$TMP/out" 4>>"$TMP/console" >"$TMP/vmm.log" 2>&1 </dev/null &
GPID=$!

STATUS='' PARTIAL=''
handle_line() {
  case "$1" in
    "=== GUEST READY "*) log "guest ready after $(dt "$T_BOOT" "$(now)")s (${1#=== GUEST READY }" ;;
    "=== GUEST EXIT "*) STATUS=${1#=== GUEST EXIT }; STATUS=${STATUS%% *} ;;
    *) printf '%s\n' "$1" ;;
  esac
}
flush_out() {  # print complete lines; keep a partial last line for the next call
  local line
  while :; do
    if IFS= read -r line <&5; then handle_line "$PARTIAL$line"; PARTIAL=
    else PARTIAL+=$line; break; fi
  done
  if [[ "${1:-}" == final && -n "$PARTIAL" ]]; then handle_line "$PARTIAL"; PARTIAL=; fi
}
exec 5<"$TMP/out"
deadline=$(($(date +%s) + TIMEOUT)) timed_out=0
while kill -0 "$GPID" 2>/dev/null; do
  flush_out
  if (($(date +%s) >= deadline)); then timed_out=1; kill_group "$GPID"; break; fi
  sleep 0.1
done
wait "$GPID" 2>/dev/null || true
# UML's helper processes may outlive the main one for a moment.
kill_group "$GPID"
GPID=
flush_out final
[[ -n "$CONSOLE" ]] && cp "$TMP/console" "$CONSOLE"
log "guest ran $(dt "$T_BOOT" "$(now)")s"
if [[ $timed_out == 1 ]]; then
  echo "[run-guest] timeout after ${TIMEOUT}s; console tail:" >&2
  tail -20 "$TMP/console" >&2
  exit 124
fi
if [[ -z "$STATUS" ]]; then
  echo "[run-guest] the guest ended without an exit status; console tail:" >&2
  tail -20 "$TMP/vmm.log" >&2
  tail -40 "$TMP/console" >&2
  exit 125
fi
exit "$STATUS"
