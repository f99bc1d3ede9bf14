#!/bin/sh
# `up` interrupted between its start waves, two ways; each time it says so,
# exits 1 and starts nothing more, and the next `up` completes the lab:
#   - Ctrl-C (SIGINT): work in flight finishes, nothing new starts;
#   - a lost libvirtd connection: the connection goes through a socat relay
#     to libvirtd's socket, which the test kills.
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
    nl_remove_lab "$lab"
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -S "$sock" ] || fail "libvirtd's socket $sock is missing"
# The server waits 20 s after starting before the clients' wave: the
# moment both interruptions hit.
sed 's|<machine name="server" profile="tiny" role="generic">|<machine name="server" profile="tiny" role="generic" delay="20s">|' \
    "$NESTLAB_SOURCE/templates/tiny-lab.xml" >"$tmp/lab.xml"
grep -q 'delay="20s"' "$tmp/lab.xml" || fail "could not add a start delay to tiny-lab.xml"
set -- --set "guest_dir=$guest" --set "lab=$lab" --set subnet_prefix=10.213.64

# Waits until domain $1 runs (up to 60 s).
wait_running() {
    i=0
    until [ "$(virsh -q -c "$URI" domstate "$1" 2>/dev/null)" = running ] || [ "$i" -ge 120 ]; do
        sleep 0.5; i=$((i + 1))
    done
    test "$(virsh -q -c "$URI" domstate "$1" 2>/dev/null)" = running
}
clients_not_started() {
    for m in client01 client02; do
        test "$(virsh -q -c "$URI" domstate "$lab-$m" 2>/dev/null)" != running || return 1
    done
}

# ---- Ctrl-C ----------------------------------------------------------------
# A background job of a non-interactive shell ignores SIGINT from birth;
# nestlab installs its own handler, so the signal still arrives.
"$NESTLAB" -c "$URI" up --no-status "$@" "$tmp/lab.xml" >"$tmp/int.out" 2>"$tmp/int.err" &
up=$!
expect "the first wave started" wait_running "$lab-server"
kill -INT "$up"
rc=0
wait "$up" || rc=$?
cat "$tmp/int.out" "$tmp/int.err" >&2
expect "an interrupted up exits 1" test "$rc" = 1
expect "it says it was interrupted and that running it again completes it" \
    sh -c "grep -q 'interrupted' '$tmp/int.err' && grep -q 'run it again' '$tmp/int.err'"
expect "the second wave was not started" clients_not_started
expect "destroy of the half-built lab" "$NESTLAB" -c "$URI" destroy --yes "$lab"

# ---- a lost connection ---------------------------------------------------
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
expect "the first wave started through the relay" wait_running "$lab-server"
pkill -f "UNIX-LISTEN:$tmp/relay.sock" || true
relay=""
rc=0
wait "$up" || rc=$?
cat "$tmp/up.out" "$tmp/up.err" >&2; say "up exited with $rc"
expect "up fails with exit status 1" test "$rc" = 1
expect "the error says the connection to libvirt was lost, and where" \
    grep -q "lost the connection to libvirt at qemu+unix:///system" "$tmp/up.err"
expect "the second wave was not started" clients_not_started
expect "a second up, on a working connection, completes the lab" \
    "$NESTLAB" -c "$URI" up --no-status "$@" "$tmp/lab.xml"
for m in server client01 client02; do
    expect "$m is running" test "$(virsh -q -c "$URI" domstate "$lab-$m")" = running
done
expect "destroy removes the lab" "$NESTLAB" -c "$URI" destroy --yes "$lab"
