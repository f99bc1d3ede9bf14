#!/bin/sh
# A lost libvirtd connection in the middle of `up` is a clear error (exit 1,
# naming the connection), nothing more is attempted, and the next `up`
# completes the lab. The connection goes through a socat relay to libvirtd's
# socket, which the test kills while `up` waits between start waves.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
command -v socat >/dev/null || fail "socat is missing: run scripts/setup.sh"
guest=$(nl_guest_dir)
lab=$(nl_lab_name conn)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nltest-connection.XXXXXX")
sock=/var/run/libvirt/libvirt-sock
relay=""

cleanup() {
    rc=$?
    [ -n "$relay" ] && kill "$relay" 2>/dev/null || true
    "$NESTLAB" -c "$URI" destroy --yes "$lab" >/dev/null 2>&1 || true
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -S "$sock" ] || fail "libvirtd's socket $sock is missing"
# The server waits 20 s after starting before the clients' wave.
sed 's|<machine name="server" profile="tiny" role="generic">|<machine name="server" profile="tiny" role="generic" delay="20s">|' \
    "$NESTLAB_SOURCE/templates/tiny-lab.xml" >"$tmp/lab.xml"
grep -q 'delay="20s"' "$tmp/lab.xml" || fail "could not add a start delay to tiny-lab.xml"
set -- --set "guest_dir=$guest" --set "lab=$lab" --set subnet_prefix=10.213.64

socat "UNIX-LISTEN:$tmp/relay.sock,fork" "UNIX-CONNECT:$sock" &
relay=$!
i=0
while [ ! -S "$tmp/relay.sock" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
relay_uri="qemu+unix:///system?socket=$tmp/relay.sock"
expect "the relay reaches libvirtd" virsh -q -c "$relay_uri" version

"$NESTLAB" -c "$relay_uri" up --no-status "$@" "$tmp/lab.xml" >"$tmp/up.out" 2>"$tmp/up.err" &
up=$!
# Once the first wave runs, cut the connection (the relay and every
# connection it forked).
i=0
until [ "$(virsh -q -c "$URI" domstate "$lab-server" 2>/dev/null)" = running ] || [ "$i" -ge 120 ]; do
    sleep 0.5; i=$((i + 1))
done
expect "the first wave started through the relay" \
    test "$(virsh -q -c "$URI" domstate "$lab-server" 2>/dev/null)" = running
pkill -f "UNIX-LISTEN:$tmp/relay.sock" || true
relay=""
rc=0
wait "$up" || rc=$?
cat "$tmp/up.out" "$tmp/up.err" >&2; say "up exited with $rc"
expect "up fails with exit status 1" test "$rc" = 1
expect "the error says the connection to libvirt was lost, and where" \
    grep -q "lost the connection to libvirt at qemu+unix:///system" "$tmp/up.err"
expect "the second wave was not started" \
    sh -c "test \"\$(virsh -q -c '$URI' domstate '$lab-client01' 2>/dev/null)\" != running"
expect "a second up, on a working connection, completes the lab" \
    "$NESTLAB" -c "$URI" up --no-status "$@" "$tmp/lab.xml"
for m in server client01 client02; do
    expect "$m is running" test "$(virsh -q -c "$URI" domstate "$lab-$m")" = running
done
expect "destroy removes the lab" "$NESTLAB" -c "$URI" destroy --yes "$lab"
