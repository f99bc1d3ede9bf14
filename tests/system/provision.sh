#!/bin/sh
# Provisioning on real guests: steps run through the guest agent in their
# order across machines (client01 fetches what the server's step serves),
# a reboot step proves a new boot, a failing step stops only what waits
# for it, status shows it with its output, and a run killed with SIGKILL in
# the middle of a step is finished by the next run without repeating any
# step that was done (each step counts itself in the guest's /data/count).
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
guest=$(nl_guest_dir)

lab=$(nl_lab_name prov)
work=$(mktemp -d "${TMPDIR:-/tmp}/nltest-provision.XXXXXX")
export NESTLAB_STATE_DIR="$work/state"
tpl="$NESTLAB_SOURCE/tests/data/system/provision-lab.xml"
sets="--set guest_dir=$guest --set lab=$lab --set subnet_prefix=10.213.91"
nl() { "$NESTLAB" -c "$URI" "$@"; }
vsh() { virsh -q -c "$URI" "$@"; }

cleanup() {
    rc=$?
    [ -n "${bg:-}" ] && kill -9 "$bg" 2>/dev/null
    nl_remove_lab "$lab"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC2086
expect "up fails when a step fails" sh -c "! '$NESTLAB' -c '$URI' up $sets '$tpl' >'$work/up.out' 2>&1"
cat "$work/up.out" >&2
expect "it names the failed step and its machine" grep -q "client02: step broken: exit 3" "$work/up.out"
expect "the step waiting on it is not run" grep -q "client02: step after-broken: not run: step broken failed" "$work/up.out"
expect "client01 waited for the server, fetched, rebooted and saw a new boot" \
    grep -q "client01 .* after-boot .* done" "$work/up.out"
for m in server client01 client02; do nl_wait_agent "$lab-$m" 180; done
expect "each done step ran once" sh -c "
    . '$NESTLAB_SOURCE/tests/system/lib.sh'
    [ \"\$(nl_guest_sh '$lab-server' 'grep -cx serve /data/count')\" = 1 ] &&
    [ \"\$(nl_guest_sh '$lab-client01' 'grep -c . /data/count')\" = 3 ]"
expect "the failed step's dependent never ran" sh -c "
    . '$NESTLAB_SOURCE/tests/system/lib.sh'; ! nl_guest_sh '$lab-client02' 'grep -qx after-broken /data/count'"
nl status "$lab" >"$work/status.out" 2>&1
cat "$work/status.out" >&2
expect "status shows each machine's step" grep -q "client01 .* after-boot done" "$work/status.out"
expect "status shows the failed step with its output" sh -c "
    grep -q 'client02: step broken failed (exit 3' '$work/status.out' && grep -q 'broken on purpose' '$work/status.out'"
expect "status --json carries the step records" sh -c "
    '$NESTLAB' -c '$URI' status --json '$lab' | python3 -c '
import json, sys
m = {x[\"name\"]: x for x in json.load(sys.stdin)[0][\"machines\"]}
s = {x[\"name\"]: x for x in m[\"client02\"][\"steps\"]}
sys.exit(0 if s[\"broken\"][\"state\"] == \"failed\" and s[\"broken\"][\"exit\"] == 3 else 1)'"
expect "the machine's log holds the step's output" grep -q "broken on purpose" "$NESTLAB_STATE_DIR/logs/$lab/client02.log"
expect "a machine whose steps are done has its config disk ejected" sh -c \
    "virsh -q -c '$URI' domblklist '$lab-server' | awk '\$1 == \"sda\" { exit \$2 == \"-\" ? 0 : 1 }'"

# Fix the cause, then kill -9 a provision run while the step runs.
nl_guest_sh "$lab-client02" 'touch /data/fixed' >/dev/null
# shellcheck disable=SC2086
"$NESTLAB" -c "$URI" provision $sets "$tpl" >"$work/killed.out" 2>&1 &
bg=$!
i=0
until vsh dumpxml "$lab-client02" | grep -q 'name="broken" state="running"'; do
    i=$((i + 1)); [ "$i" -lt 300 ] || fail "the broken step never started running again"
    sleep 0.2
done
kill -9 "$bg"; wait "$bg" 2>/dev/null || true; bg=
expect "the killed run left the step recorded as running" sh -c \
    "virsh -q -c '$URI' dumpxml '$lab-client02' | grep -q 'name=\"broken\" state=\"running\"'"
# shellcheck disable=SC2086
expect "the next run finishes" sh -c "'$NESTLAB' -c '$URI' provision $sets '$tpl' >'$work/resume.out' 2>&1 || { cat '$work/resume.out' >&2; exit 1; }"
cat "$work/resume.out" >&2
expect "it skipped what was done" grep -q "client01 .* after-boot .* skipped: done before" "$work/resume.out"
expect "no done step ran twice over three runs" sh -c "
    . '$NESTLAB_SOURCE/tests/system/lib.sh'
    [ \"\$(nl_guest_sh '$lab-server' 'grep -cx serve /data/count')\" = 1 ] &&
    [ \"\$(nl_guest_sh '$lab-client01' 'sort /data/count | uniq -d | wc -l')\" = 0 ] &&
    [ \"\$(nl_guest_sh '$lab-client02' 'grep -cx after-broken /data/count')\" = 1 ]"
expect "provision --from runs a step again" sh -c "
    '$NESTLAB' -c '$URI' provision $sets '$tpl' client02 --from after-broken >/dev/null 2>&1 &&
    . '$NESTLAB_SOURCE/tests/system/lib.sh' &&
    [ \"\$(nl_guest_sh '$lab-client02' 'grep -cx after-broken /data/count')\" = 2 ]"
expect "destroy removes the lab" nl destroy --yes "$lab"
