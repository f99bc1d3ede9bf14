#!/bin/sh
# Host windows end to end, on a second libvirt host
# (tests/system/tools/second-host.sh) with tiny guests whose disks both
# hosts see, and qemu:///system as its peer:
#   - the plan asks the host for its guests and writes the downtime notice,
#     parsed back as iCalendar;
#   - a window saves one guest (nothing it needs reboots), shuts one down
#     (its patch's reboot held back: the host's reboot is its reboot), moves
#     one live to the peer and back (its patch reboots it there), leaves an
#     off one off, updates and reboots the host (a restart of its libvirtd
#     with its QEMUs killed): every running guest's boot count goes up by
#     exactly what it should (the saved one's not at all, the others' by
#     one), every patch is in, nothing is left saved or on the peer;
#   - a second window is killed with SIGKILL while the host is down, then
#     resumed: it finishes, and ends in the same state.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
command -v ip >/dev/null || fail "ip is missing: run scripts/setup.sh"
/usr/bin/python3 -c 'import icalendar' 2>/dev/null || fail "python3-icalendar is missing: run scripts/setup.sh"
golden=$(nl_guest_dir)/golden.qcow2
export NESTLAB_STATE_DIR="$NESTLAB_BUILD_ROOT/test-state/host-rollout"
rm -rf "$NESTLAB_STATE_DIR"
mkdir -p "$NESTLAB_STATE_DIR"

tag=$$
g_save=nlthrs$tag
g_shut=nlthrd$tag
g_move=nlthrm$tag
g_off=nlthro$tag
pid=

cleanup() {
    rc=$?
    trap - EXIT INT TERM
    [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
    if [ "$rc" != 0 ] && [ -n "${SECOND_SHARED:-}" ]; then
        for o in "$SECOND_SHARED"/*.out; do
            [ -s "$o" ] || continue
            say "output of ${o##*/} (last 40 lines):"
            tail -n 40 "$o" | sed 's/^/#   /' >&2
        done
        for c in "$SECOND_SHARED"/*.console; do
            [ -s "$c" ] || continue
            say "console of ${c##*/} (last 10 lines):"
            tail -n 10 "$c" | sed 's/^/#   /' >&2
        done
    fi
    for d in "$g_save" "$g_shut" "$g_move" "$g_off"; do
        if virsh -q -c qemu:///system dominfo "$d" >/dev/null 2>&1; then
            say "left behind on the peer: $d"
            virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
            virsh -q -c qemu:///system undefine "$d" --managed-save >/dev/null 2>&1 || true
        fi
    done
    nl_second_host_stop
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nl_second_host_start
H2=$SECOND_URI
say "second host: $H2 ($SECOND_HOST_UUID)"

# Commands through the agent of a guest on the second host.
h2_sh() {
    (URI=$H2; nl_guest_sh "$1" "$2")
}
h2_wait_agent() {
    (URI=$H2; nl_wait_agent "$1" "${2:-120}")
}
boots() {
    h2_sh "$1" 'wc -l < /data/nestlab-boots' | tr -d ' \n'
}
# Key $3 of group [$2] of journal $1 (a key file).
jget() {
    sed -n "/^\[$2\]\$/,/^\[/p" "$1" | sed -n "s/^$3=//p" | head -n 1
}

for g in "$g_save" "$g_shut" "$g_move" "$g_off"; do
    qemu-img create -q -f qcow2 -F qcow2 -b "$golden" "$SECOND_SHARED/$g.qcow2"
    nl_tiny_domain "$g" "$SECOND_SHARED/$g.qcow2" >"$SECOND_SHARED/$g.xml"
    virsh -q -c "$H2" define "$SECOND_SHARED/$g.xml" >/dev/null || fail "defining $g on the second host"
done
chmod 0666 "$SECOND_SHARED"/*.qcow2
for g in "$g_save" "$g_shut" "$g_move"; do
    virsh -q -c "$H2" start "$g" >/dev/null || fail "starting $g"
done
for g in "$g_save" "$g_shut" "$g_move"; do
    h2_wait_agent "$g"
done
# The saved guest has the reboot patch already: only a patch that needs no
# reboot is pending there, so it may be saved. A mark in its /run (a
# tmpfs) tells a resumed guest from a rebooted one.
h2_sh "$g_save" 'echo KB-REBOOT >> /data/patches; sync; echo before > /run/nestlab-mark' >/dev/null

tool=$NESTLAB_SOURCE/tests/system/tools/second-host.sh
cat >"$SECOND_SHARED/plan.xml" <<EOF
<rollout name="hosts" agent-timeout="120s">
  <patch id="KB-REBOOT" severity="important" reboot="yes">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>echo KB-REBOOT >> /data/patches; sync</arg></install>
    <check os="linux"><arg>/bin/grep</arg><arg>-qx</arg><arg>KB-REBOOT</arg><arg>/data/patches</arg></check>
  </patch>
  <patch id="KB-LIVE" severity="important">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>echo KB-LIVE >> /data/patches; sync</arg></install>
    <check os="linux"><arg>/bin/grep</arg><arg>-qx</arg><arg>KB-LIVE</arg><arg>/data/patches</arg></check>
  </patch>
  <targets>
    <host name="hv2" uri="$H2" peer="main" run="local" migrate-uri="$SECOND_MIGRATE_URI"
          shared-storage="yes" boot-timeout="180s">
      <guest name="$g_save" stop="save"/>
      <guest name="$g_move" stop="migrate"/>
      <update><arg>/bin/sh</arg><arg>$tool</arg><arg>exec</arg><arg>$SECOND_HOST_DIR</arg>
        <arg>/bin/sh</arg><arg>-c</arg><arg>echo updated >> $SECOND_SHARED/updates</arg></update>
      <reboot><arg>/bin/sh</arg><arg>$tool</arg><arg>reboot</arg><arg>$SECOND_HOST_DIR</arg><arg>--down</arg><arg>\${NL_DOWN:-3}</arg></reboot>
      <boot-id><arg>/bin/sh</arg><arg>$tool</arg><arg>boot-id</arg><arg>$SECOND_HOST_DIR</arg></boot-id>
      <check><arg>/bin/sh</arg><arg>$tool</arg><arg>exec</arg><arg>$SECOND_HOST_DIR</arg><arg>/bin/hostname</arg></check>
    </host>
    <host name="main" uri="qemu:///system" patch="no" migrate-uri="$MAIN_MIGRATE_URI"/>
  </targets>
  <host-policy stop="shutdown" shutdown-timeout="60s" migrate-back="yes"/>
  <window week="2" weekday="tuesday" start="22:00" duration="4h" timezone="UTC"/>
</rollout>
EOF
# The plan's argv cannot expand a variable: the reboot's down time is fixed
# per run by rewriting the plan.
plan_with_down() {
    sed "s|\${NL_DOWN:-3}|$1|" "$SECOND_SHARED/plan.xml" >"$SECOND_SHARED/plan-$1.xml"
    printf '%s\n' "$SECOND_SHARED/plan-$1.xml"
}
plan=$(plan_with_down 3)

# --- The plan: the host's guests and the downtime notice ---------------------
"$NESTLAB" rollout plan "$plan" --ics "$SECOND_SHARED/notice.ics" \
    --notice-json "$SECOND_SHARED/notice.json" >"$SECOND_SHARED/plan.out" 2>&1 \
    || { cat "$SECOND_SHARED/plan.out" >&2; fail "rollout plan"; }
expect "the plan asks the host and the agents: the guest that needs no reboot is saved" \
    grep -q "$g_save: save; before: KB-LIVE; reboots: 0" "$SECOND_SHARED/plan.out"
expect "the one that needs one is shut down, its patches' reboot held for the host's" \
    grep -q "$g_shut: shutdown; before: KB-REBOOT, KB-LIVE (reboot held for the host's); reboots: 1" "$SECOND_SHARED/plan.out"
expect "a guest that is off is left off" grep -q "$g_off: leave-off" "$SECOND_SHARED/plan.out"
expect "the downtime notice parses as iCalendar: one event, the host, every running guest" \
    /usr/bin/python3 - "$SECOND_SHARED/notice.ics" "$g_save" "$g_shut" "$g_move" <<'PY'
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
events = [c for c in cal.walk() if c.name == 'VEVENT']
assert len(events) == 1, events
ev = events[0]
assert ev.decoded('dtstart') < ev.decoded('dtend')
assert ev.decoded('dtstart').tzinfo is not None
assert 'hv2' in str(ev.get('summary'))
desc = str(ev.get('description'))
for g in sys.argv[2:]:
    assert g in desc, (g, desc)
assert str(ev.get('uid'))
PY

# --- One window --------------------------------------------------------------
boot0=$(nl_second_host boot-id)
"$NESTLAB" rollout run --now --id "hr1-$tag" "$plan" >"$SECOND_SHARED/run1.out" 2>&1 \
    || { cat "$SECOND_SHARED/run1.out" >&2; fail "the host window failed"; }
journal=$NESTLAB_STATE_DIR/rollouts/hr1-$tag/journal
expect "the host is done" test "$(jget "$journal" "host hv2" state)" = done
expect "the host rebooted: its boot id changed" test "$(nl_second_host boot-id)" != "$boot0"
expect "its update ran once" test "$(cat "$SECOND_SHARED/updates")" = "updated"
for g in "$g_save" "$g_shut" "$g_move"; do
    expect "$g is running on the second host again" \
        sh -c "virsh -q -c '$H2' domstate '$g' | grep -qx running"
    expect "$g is not on the peer" sh -c "! virsh -q -c qemu:///system dominfo '$g' >/dev/null 2>&1"
    expect "$g has no managed save left" \
        sh -c "virsh -q -c '$H2' dominfo '$g' | grep -q 'Managed save: *no'"
    h2_wait_agent "$g"
done
expect "the off guest stayed off" sh -c "virsh -q -c '$H2' domstate '$g_off' | grep -qx 'shut off'"
for g in "$g_save" "$g_shut" "$g_move"; do
    expect "$g's restore point from before its patches is gone (it is patched and healthy)" \
        test -z "$(virsh -q -c "$H2" snapshot-list "$g" --name 2>&1)"
done
expect "a restore point was taken before the held patches" grep -q "$g_shut: restore point nl-hr1-$tag" "$SECOND_SHARED/run1.out"
expect "the saved guest resumed: same boot, its /run mark kept" \
    test "$(boots "$g_save")/$(h2_sh "$g_save" 'cat /run/nestlab-mark')" = "1/before"
expect "the shut-down guest booted once: the host's reboot was its reboot" test "$(boots "$g_shut")" = 2
expect "the migrated guest rebooted once, for its own patch" test "$(boots "$g_move")" = 2
for g in "$g_save" "$g_shut" "$g_move"; do
    expect "$g has both patches, once each" \
        test "$(h2_sh "$g" 'sort /data/patches | tr "\n" " "')" = "KB-LIVE KB-REBOOT "
done
expect "the held patch went in before the host went down" \
    awk -v g="$g_shut: installing KB-REBOOT" 'index($0, g){i=NR} /host hv2: rebooting/{r=NR} END{exit !(i && r && i<r)}' \
        "$SECOND_SHARED/run1.out"
expect "the journal counts one reboot for the shut-down guest" \
    test "$(jget "$journal" "guest hv2\/$g_shut" reboots)" = 1
expect "one for the migrated guest" test "$(jget "$journal" "guest hv2\/$g_move" reboots)" = 1
expect "and none for the saved one" test "$(jget "$journal" "guest hv2\/$g_save" reboots)" = 0
"$NESTLAB" rollout status --html "$SECOND_SHARED/report.html" "hr1-$tag" >/dev/null \
    || fail "rollout status --html"
expect "the report's timeline has the host and each guest, with its downtime and reboots" \
    python3 - "$SECOND_SHARED/report.html" "$g_save" "$g_shut" "$g_move" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
svg = [e for e in root.iter() if e.tag.endswith('svg')]
assert svg, "no timeline"
titles = [t.text or '' for e in svg for t in e.iter() if t.tag.endswith('title')]
save, shut, move = sys.argv[2:5]
def one(name):
    found = [t for t in titles if t.startswith('guest %s of hv2:' % name)]
    assert len(found) == 1, (name, titles)
    return found[0]
assert 'reboots 0 (planned 0)' in one(save), one(save)
assert 'reboots 1 (planned 1)' in one(shut) and '!' not in one(shut), one(shut)
assert 'reboots 1 (planned 1)' in one(move), one(move)
assert 'downtime live' not in one(shut)
assert any(t.startswith('host hv2') for t in titles), titles
PY
expect "the saved guest went down during the window" test "$(jget "$journal" "guest hv2\/$g_save" down)" -gt 0
expect "and came back after" \
    test "$(jget "$journal" "guest hv2\/$g_save" up)" -ge "$(jget "$journal" "guest hv2\/$g_save" down)"

# --- Killed while the host is down, then resumed ------------------------------
plan=$(plan_with_down 10)
boot1=$(nl_second_host boot-id)
"$NESTLAB" rollout run --now --id "hr2-$tag" "$plan" >"$SECOND_SHARED/run2.out" 2>&1 &
pid=$!
journal=$NESTLAB_STATE_DIR/rollouts/hr2-$tag/journal
i=0
until [ -f "$journal" ] && [ "$(jget "$journal" "host hv2" state)" = rebooting ]; do
    i=$((i + 1)); [ "$i" -lt 600 ] || fail "the second window never reached its reboot"
    kill -0 "$pid" 2>/dev/null || { cat "$SECOND_SHARED/run2.out" >&2; fail "the second window ended early"; }
    sleep 0.5
done
# Let the reboot command take the host down, then kill the rollout.
i=0
while virsh -q -c "$H2" version >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 120 ] || fail "the host never went down"
    sleep 0.5
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
expect "the run is left running, held by no process" \
    test "$(nl_rollout_state "hr2-$tag")" = interrupted
expect "abort refuses: the host's guests are down" \
    sh -c "! '$NESTLAB' rollout abort 'hr2-$tag' 2>'$SECOND_SHARED/abort.err' && grep -q 'rollout resume' '$SECOND_SHARED/abort.err'"
"$NESTLAB" rollout resume "hr2-$tag" >"$SECOND_SHARED/resume.out" 2>&1 \
    || { cat "$SECOND_SHARED/resume.out" >&2; fail "the resume failed"; }
expect "the resumed window is done" test "$(jget "$journal" "host hv2" state)" = done
expect "the host rebooted once more" test "$(nl_second_host boot-id)" != "$boot1"
for g in "$g_save" "$g_shut" "$g_move"; do
    expect "$g is running on the second host after the resume" \
        sh -c "virsh -q -c '$H2' domstate '$g' | grep -qx running"
    expect "$g is not on the peer" sh -c "! virsh -q -c qemu:///system dominfo '$g' >/dev/null 2>&1"
    expect "$g has no managed save left" \
        sh -c "virsh -q -c '$H2' dominfo '$g' | grep -q 'Managed save: *no'"
    h2_wait_agent "$g"
done
expect "the saved guest still never rebooted" test "$(boots "$g_save")" = 1
expect "the shut-down guest booted once in the second window" test "$(boots "$g_shut")" = 3
expect "the migrated guest did not reboot (nothing pending)" test "$(boots "$g_move")" = 2
expect "the update ran in the second window too" test "$(wc -l <"$SECOND_SHARED/updates")" = 2
say "host windows: plan, notice, one window, a killed window resumed"
