#!/bin/sh
# Faults from outside, on a real libvirtd with tiny guests:
#   - libvirtd restarted in the middle of `up`: up says it lost the
#     connection, and a re-run finishes the lab;
#   - libvirtd restarted while a rollout installs: the run stops as
#     interrupted (no machine judged, nothing rolled back), and
#     `rollout resume` finishes it with the patch in every guest once;
#   - a storage pool that fills up during a replica's backup: the rollout
#     halts naming the pool and libvirt's reason, production is untouched,
#     and nothing of the replica is left.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
dir=$(nl_guest_dir)
lab=$(nl_lab_name flt)
octet=$(( $$ % 100 + 120 ))
work=$(mktemp -d "${TMPDIR:-/tmp}/nltest-faults.XXXXXX")
export NESTLAB_STATE_DIR="$work/state"
small="nltsmall$$"
smalldir="/var/lib/nestlab/$small"
runs=""

cleanup() {
    rc=$?
    # libvirtd must be up for the rest of the suite, whatever happened here.
    sh "$NESTLAB_SOURCE/scripts/start-libvirtd.sh" >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    nl_remove_replicas $runs
    nl_remove_lab "$lab"
    virsh -q -c "$URI" pool-destroy "$small" >/dev/null 2>&1 || true
    virsh -q -c "$URI" pool-undefine "$small" >/dev/null 2>&1 || true
    if mountpoint -q "$smalldir" 2>/dev/null; then umount "$smalldir" || true; fi
    rmdir "$smalldir" 2>/dev/null || true
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dom() { printf '%s-%s\n' "$lab" "$1"; }
vsh() { virsh -q -c "$URI" "$@"; }

# Stops libvirtd (running guests stay up: QEMU does not depend on it) and
# starts it again; waits until it answers.
restart_libvirtd() {
    pid=$(pgrep -x libvirtd) || fail "libvirtd is not running"
    kill "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -lt 100 ] || fail "libvirtd did not stop"
        sleep 0.1
    done
    say "libvirtd stopped; starting it again"
    sh "$NESTLAB_SOURCE/scripts/start-libvirtd.sh" || fail "libvirtd did not start again"
}

# A 1 MiB pool for the last part, mounted before any guest starts: QEMU
# runs in a mount namespace of its own, which may not see later mounts.
mkdir -p "$smalldir"
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$smalldir" || fail "cannot mount a tmpfs on $smalldir"
vsh pool-define-as "$small" dir --target "$smalldir" >/dev/null || fail "defining pool $small"
vsh pool-start "$small" >/dev/null || fail "starting pool $small"

# ---- libvirtd restarted during up ------------------------------------------
# The server waits 15 s after starting before the clients' wave.
sed 's|<machine name="server" profile="tiny" role="generic">|<machine name="server" profile="tiny" role="generic" delay="15s">|' \
    "$NESTLAB_SOURCE/templates/tiny-lab.xml" >"$work/lab.xml"
set -- --set "guest_dir=$dir" --set "lab=$lab" --set "subnet_prefix=10.214.$octet"
"$NESTLAB" -c "$URI" up --no-status "$@" "$work/lab.xml" >"$work/up.out" 2>"$work/up.err" &
up=$!
i=0
until [ "$(vsh domstate "$(dom server)" 2>/dev/null)" = running ]; do
    i=$((i + 1)); [ "$i" -lt 300 ] || fail "the server never started"
    sleep 0.2
done
restart_libvirtd
rc=0
wait "$up" || rc=$?
sed 's/^/#   /' "$work/up.out" "$work/up.err" >&2
expect "up that lost libvirtd exits 1" test "$rc" = 1
expect "it says it lost the connection to libvirt" grep -q "lost the connection to libvirt" "$work/up.err"
expect "up after the restart finishes the lab" "$NESTLAB" -c "$URI" up --no-status --no-delays "$@" "$work/lab.xml"
for m in server client01 client02; do nl_wait_agent "$(dom "$m")" 120; done
expect "every machine of the lab runs" \
    sh -c "test \"\$(virsh -q -c '$URI' list --name | grep -c '^$lab-')\" = 3"

# ---- libvirtd restarted during a rollout -----------------------------------
id="flt-restart-$$"
runs="$runs $id"
cat >"$work/r.xml" <<EOF
<rollout name="flt-$lab" agent-timeout="90s">
  <patch id="KBR" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>sleep 6; echo KBR >> /data/kbr-count; sync</arg></install>
    <check os="linux"><arg>/bin/grep</arg><arg>-qx</arg><arg>KBR</arg><arg>/data/kbr-count</arg></check>
  </patch>
  <targets><lab name="$lab"/></targets>
  <health name="agent"><agent/></health>
  <replica enabled="no"/>
  <ring name="all" select="*" max-parallel="3" failure-budget="0"/>
</rollout>
EOF
"$NESTLAB" -c "$URI" rollout run --now --id "$id" "$work/r.xml" >"$work/r.out" 2>&1 &
run=$!
journal="$NESTLAB_STATE_DIR/rollouts/$id/journal"
i=0
until [ -f "$journal" ] && grep -q '^state=installing' "$journal"; do
    i=$((i + 1)); [ "$i" -lt 600 ] || fail "the rollout never started installing"
    kill -0 "$run" 2>/dev/null || fail "the rollout ended before libvirtd could be restarted: $(cat "$work/r.out")"
    sleep 0.1
done
restart_libvirtd
rc=0
wait "$run" || rc=$?
sed 's/^/#   /' "$work/r.out" >&2
expect "the rollout that lost libvirtd exits 1" test "$rc" = 1
expect "it says it lost the connection and how to go on" \
    grep -q "lost the connection to libvirt.*rollout resume $id" "$work/r.out"
expect "it is interrupted, not halted" test "$(nl_rollout_state "$id")" = interrupted
expect "no machine was rolled back" sh -c "! grep -q 'rolled back\\|rolling back' '$work/r.out'"
expect "rollout resume finishes it" "$NESTLAB" -c "$URI" rollout resume "$id"
expect "it is done" test "$(nl_rollout_state "$id")" = done
for m in server client01 client02; do
    expect "$m has KBR exactly once" \
        test "$(nl_guest_sh "$(dom "$m")" 'wc -l < /data/kbr-count' | tr -d ' \n')" = 1
done

# ---- a pool that fills up during the replica's backup ------------------------
id="flt-full-$$"
runs="$runs $id"
replica=$(nl_replica_lab "$id")
cat >"$work/f.xml" <<EOF
<rollout name="flt-$lab" agent-timeout="90s">
  <patch id="KBF" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>echo KBF >> /data/kbf-count; sync</arg></install>
  </patch>
  <targets><lab name="$lab"/></targets>
  <health name="agent"><agent/></health>
  <replica enabled="yes" keep="no" pool="$small" boot-timeout="120s"/>
  <ring name="all" select="*" max-parallel="3" failure-budget="0"/>
</rollout>
EOF
rc=0
"$NESTLAB" -c "$URI" rollout run --now --id "$id" "$work/f.xml" >"$work/f.out" 2>&1 || rc=$?
sed 's/^/#   /' "$work/f.out" >&2
expect "a replica whose pool fills up fails the rollout (exit 1)" test "$rc" = 1
expect "it halted building the replica" test "$(nl_rollout_state "$id")" = halted
expect "the error names the pool" grep -q "pool '$small'" "$work/f.out"
expect "and libvirt's reason" grep -qi "no space left on device" "$work/f.out"
for m in server client01 client02; do
    expect "$m (production) was never touched" \
        test "$(nl_guest_sh "$(dom "$m")" 'cat /data/kbf-count 2>/dev/null | wc -l' | tr -d ' \n')" = 0
done
expect "no replica domain is left" sh -c "! virsh -q -c '$URI' list --all --name | grep -q '^$replica'"
expect "no replica network is left" sh -c "! virsh -q -c '$URI' net-list --all --name | grep -q '^$replica'"
vsh pool-refresh "$small" >/dev/null
expect "no file is left in the full pool" test -z "$(vsh vol-list "$small" | awk '{ print $1 }')"
expect "no backup job is left on production" \
    sh -c "for m in server client01 client02; do virsh -q -c '$URI' domjobinfo $lab-\$m | grep -q 'Job type: *None' || exit 1; done"
