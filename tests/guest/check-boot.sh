#!/bin/bash
# Boots the tiny test guest once on qemu:///system and checks it end to end:
# the agent answers, guest-exec runs a command that reads the golden disk at
# /data, and an agent shutdown (or --acpi: ACPI power button) stops it.
#
# usage: check-boot.sh [--machine pc|q35] [--acpi] [--console FILE] [--no-build] DIR
#
#   --machine   QEMU machine type (default q35)
#   --acpi      shut down with the ACPI power button, not the agent
#   --console   keep a copy of the serial console log in FILE
#
# Builds DIR first with build.sh (a no-op when it is up to date). Creates
# only a transient domain named nltest-guestcheck-* and a temp dir holding
# its linked-clone overlay of DIR/golden.qcow2 and its console log; removes
# both on exit, failure included. Touches no other libvirt object.
# Exit status: 0 pass, 1 fail, 77 skip (no libvirtd on qemu:///system).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=${0##*/}
CONN=qemu:///system

machine=q35
mode=agent
build=1
console=
dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --machine) [ $# -ge 2 ] || { echo "$prog: --machine needs a value" >&2; exit 2; }
            machine=$2; shift ;;
        --machine=*) machine=${1#--machine=} ;;
        --acpi) mode=acpi ;;
        --console) [ $# -ge 2 ] || { echo "$prog: --console needs a file" >&2; exit 2; }
            console=$2; shift ;;
        --no-build) build=0 ;;
        -h | --help) sed -n '2,/^set -eu/{/^set -eu/d; s/^# \{0,1\}//; p}' "$0"; exit 0 ;;
        -*) echo "$prog: unknown option $1" >&2; exit 2 ;;
        *) [ -z "$dir" ] || { echo "$prog: one DIR only" >&2; exit 2; }; dir=$1 ;;
    esac
    shift
done
[ -n "$dir" ] || { echo "usage: $prog [--machine pc|q35] [--acpi] [--console FILE] [--no-build] DIR" >&2; exit 2; }

fail() { echo "$prog: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", e - s }'; }
vsh() { virsh -q -c "$CONN" "$@"; }

if ! vsh version >/dev/null 2>&1; then
    echo "$prog: SKIP: libvirtd does not answer on $CONN (scripts/start-libvirtd.sh starts it)" >&2
    exit 77
fi

if [ "$build" = 1 ]; then
    mkdir -p "$dir"
    "$here/build.sh" "$dir"
fi
DIR=$(cd "$dir" && pwd)
case "$DIR" in
    *[\'\"\<\>\&]*) fail "DIR path must not contain quotes, <, > or & (it goes into domain XML): $DIR" ;;
esac
for f in vmlinuz initrd.img golden.qcow2 guest.info; do
    [ -f "$DIR/$f" ] || fail "$DIR/$f is missing (run tests/guest/build.sh $dir)"
done
# shellcheck disable=SC1091
. "$DIR/guest.info"

name=nltest-guestcheck-$$-$RANDOM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nltest-guestcheck.XXXXXX")
# QEMU runs as libvirt-qemu: it must reach the overlay and the console log.
chmod 0755 "$tmp"
created=0

cleanup() {
    local rc=$?
    if [ "$created" = 1 ] && vsh domstate "$name" >/dev/null 2>&1; then
        vsh destroy "$name" >/dev/null 2>&1 || true
    fi
    if [ -n "$console" ] && [ -f "$tmp/console.log" ]; then
        cp "$tmp/console.log" "$console" || true
    fi
    if [ "$rc" != 0 ] && [ -s "$tmp/console.log" ]; then
        echo "--- console of $name (last 40 lines) ---" >&2
        tail -n 40 "$tmp/console.log" >&2
        echo "---" >&2
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

qemu-img create -q -f qcow2 -F qcow2 -b "$DIR/golden.qcow2" "$tmp/disk.qcow2"

cat >"$tmp/domain.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='$machine'>hvm</type>
    <kernel>$DIR/vmlinuz</kernel>
    <initrd>$DIR/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$tmp/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <serial type='file'>
      <source path='$tmp/console.log'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF

agent() { vsh qemu-agent-command "$name" --timeout 10 "$1"; }

# guest_exec CMD: runs /bin/sh -c CMD through the agent, waits for it, and
# prints its decoded stdout; fails unless it exits 0.
guest_exec() {
    local cmd=$1 json reply pid status code out
    json=$(printf '%s' "$cmd" | sed 's/\\/\\\\/g; s/"/\\"/g')
    reply=$(agent "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sh\",\"arg\":[\"-c\",\"$json\"],\"capture-output\":true}}") ||
        fail "guest-exec of '$cmd' failed"
    pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' <<<"$reply")
    [ -n "$pid" ] || fail "guest-exec returned no pid: $reply"
    for _ in $(seq 1 100); do
        status=$(agent "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") ||
            fail "guest-exec-status failed"
        grep -q '"exited": *true' <<<"$status" && break
        sleep 0.1
    done
    grep -q '"exited": *true' <<<"$status" || fail "'$cmd' did not finish in 10 s"
    code=$(sed -n 's/.*"exitcode": *\([0-9-][0-9]*\).*/\1/p' <<<"$status")
    out=$(sed -n 's/.*"out-data": *"\([^"]*\)".*/\1/p' <<<"$status")
    [ "$code" = 0 ] || fail "'$cmd' exited $code: $(base64 -d <<<"$out" 2>/dev/null)"
    base64 -d <<<"$out"
}

t0=$(now)
vsh create "$tmp/domain.xml" >/dev/null || fail "could not start $name (can libvirt-qemu read $DIR?)"
created=1

deadline=$(( $(date +%s) + 60 ))
until agent '{"execute":"guest-ping"}' >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "no answer from the guest agent within 60 s"
    vsh domstate "$name" >/dev/null 2>&1 || fail "$name died while booting"
    sleep 0.2
done
t1=$(now)
boot=$(secs "$t0" "$t1")
echo "$prog: $name: agent answered $boot s after start (machine $machine, kernel $KERNEL_VERSION)"

out=$(guest_exec 'cat /data/nestlab-golden; uname -r')
printf '%s\n' "$out" | sed 's/^/  guest> /'
[ "$(sed -n 1p <<<"$out")" = "nestlab golden disk" ] || fail "/data/nestlab-golden not readable in the guest"
[ "$(sed -n 2p <<<"$out")" = "$KERNEL_VERSION" ] || fail "guest runs kernel '$(sed -n 2p <<<"$out")', expected $KERNEL_VERSION"

# /data is writable (the overlay takes the write; golden.qcow2 stays as is).
out=$(guest_exec 'echo written >/data/check-boot && cat /data/check-boot && rm /data/check-boot')
[ "$out" = written ] || fail "cannot write /data in the guest"

t2=$(now)
vsh shutdown --mode "$mode" "$name" >/dev/null || fail "virsh shutdown --mode $mode failed"
deadline=$(( $(date +%s) + 60 ))
while vsh domstate "$name" 2>/dev/null | grep -qv 'shut off'; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$name still runs 60 s after shutdown --mode $mode"
    sleep 0.2
done
t3=$(now)
echo "$prog: PASS: $name booted to agent in $boot s, exec ok, $mode shutdown took $(secs "$t2" "$t3") s"
