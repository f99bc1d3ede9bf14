#!/bin/sh
# Staged patch rollouts on the tiny lab (three guests: server, client01,
# client02), end to end through the CLI on a real libvirtd:
#   (a) a good patch goes replica -> canary -> broad and every guest has it;
#   (b) a patch that breaks the health check fails on the replica and
#       production is never touched;
#   (c) a patch that fails on the canary is rolled back (its change is gone
#       inside the guest) and the rollout halts;
#   (d) a run killed with SIGKILL mid-ring and resumed patches every guest
#       exactly once;
#   (e) a UEFI + TPM guest, which QEMU cannot snapshot internally, gets
#       nestlab's overlay restore point: a failing patch is rolled back with
#       its memory, a good one is installed and the overlay folded back.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
dir=$(nl_guest_dir)
lab=$(nl_lab_name ro)
ulab=$(nl_lab_name rou)
octet=$(( $$ % 150 + 50 ))
work=$(mktemp -d)
export NESTLAB_STATE_DIR="$work/state"
runs=""

cleanup() {
    # shellcheck disable=SC2086
    nl_remove_replicas $runs
    nl_remove_lab "$lab"
    nl_remove_lab "$ulab"
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

dom() { printf '%s-%s\n' "$lab" "$1"; }

# A plan for this lab: $1 file, $2 patch XML, $3 replica on/off, rest of
# the plan from templates/tiny-rollout.xml's rings.
plan() {
    cat >"$1" <<EOF
<rollout name="sys-$lab" agent-timeout="90s">
  $2
  <targets><lab name="$lab"/></targets>
  <health name="agent"><agent/></health>
  <health name="data-mounted" timeout="10s" times="2" interval="1s">
    <command os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>grep -q ' /data ' /proc/mounts &amp;&amp; test ! -e /data/BROKEN</arg></command>
  </health>
  <replica enabled="$3" keep="no" boot-timeout="120s"/>
  <ring name="canary" select="client01" batches="1" max-parallel="1" failure-budget="0"/>
  <ring name="broad" select="*" batches="1 then 50%" max-parallel="2" failure-budget="0"/>
</rollout>
EOF
}

guest_lines() { # $1 machine, $2 file: number of lines (0 when absent)
    nl_guest_sh "$(dom "$1")" "if [ -e '$2' ]; then wc -l < '$2'; else echo 0; fi" | tr -d ' \n'
}

say "bringing up lab $lab on 10.213.$octet.0/24"
"$NESTLAB" up "$NESTLAB_SOURCE/templates/tiny-lab.xml" --set "guest_dir=$dir" --set "lab=$lab" \
    --set "subnet_prefix=10.213.$octet" >/dev/null || fail "nestlab up failed"
for m in server client01 client02; do nl_wait_agent "$(dom "$m")" 120; done

# ---- (a) the shipped plan, pointed at this lab -------------------------
sed "s/<lab name=\"tiny\"\/>/<lab name=\"$lab\"\/>/" "$NESTLAB_SOURCE/templates/tiny-rollout.xml" >"$work/a.xml"
expect "rollout plan names the machines of each ring and the window it waits for" \
    sh -c "'$NESTLAB' rollout plan '$work/a.xml' >'$work/a.plan' && grep -q \"ring 'canary': $(dom client01)\" '$work/a.plan' && grep -q 'maintenance window' '$work/a.plan'"
runs="$runs a-$$"
expect "a good patch runs replica, canary, broad" \
    "$NESTLAB" rollout run --now --id "a-$$" --html "$work/a.html" "$work/a.xml"
for m in server client01 client02; do
    expect "$m has KB1 inside the guest, installed once" test "$(guest_lines "$m" /data/patch-count)" = 1
    expect "$m records KB1 in its patch history" \
        sh -c "virsh -q -c '$URI' metadata '$(dom "$m")' https://nestlab.dev/xmlns/patches/1 | grep -q 'id=\"KB1\"'"
done
expect "nestlab status shows KB1 as every machine's patch level" \
    sh -c "'$NESTLAB' status --json '$lab' | grep -o '\"patches\": \\[{\"id\": \"KB1\"' | wc -l | grep -qx 3"
expect "the report says every machine installed" \
    sh -c "'$NESTLAB' rollout status --json 'a-$$' | grep -o '\"outcome\":\"installed\"' | wc -l | grep -qx 6"
expect "the HTML report is one page" grep -q '</html>' "$work/a.html"
expect "the replica is gone" sh -c "! virsh -q -c '$URI' list --all --name | grep -q '^replica-'"
expect "no restore point is left behind" test -z "$(virsh -q -c "$URI" snapshot-list "$(dom server)" --name)"

# ---- (b) a patch that breaks the health check --------------------------
plan "$work/b.xml" '<patch id="KB2" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>touch /data/BROKEN; sync</arg></install></patch>' yes
runs="$runs b-$$"
expect "a rollout whose patch breaks health checks fails" \
    sh -c "! '$NESTLAB' rollout run --id 'b-$$' '$work/b.xml' >'$work/b.out'"
expect "it halted on the replica" grep -q 'the replica failed' "$work/b.out"
for m in server client01 client02; do
    expect "$m was never touched" test "$(guest_lines "$m" /data/BROKEN)" = 0
done

# ---- (c) a patch that fails on the canary ------------------------------
# /run is memory: the replica (booted from a disk backup) does not have the
# marker, the production canary does.
nl_guest_sh "$(dom client01)" 'touch /run/nestlab-fail' >/dev/null
plan "$work/c.xml" '<patch id="KB3" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>echo KB3 >> /data/KB3; sync; test ! -e /run/nestlab-fail</arg></install></patch>' yes
runs="$runs c-$$"
expect "a rollout whose patch fails on the canary fails" \
    sh -c "! '$NESTLAB' rollout run --id 'c-$$' '$work/c.xml' >'$work/c.out'"
expect "the canary was rolled back" grep -q "canary .*$(dom client01) .*rolled-back" "$work/c.out"
expect "the rollout halted at the canary" grep -q "ring 'canary' exceeded its failure budget" "$work/c.out"
expect "the change is gone inside the canary" test "$(guest_lines client01 /data/KB3)" = 0
expect "the rolled-back canary keeps no restore point" \
    test -z "$(virsh -q -c "$URI" snapshot-list "$(dom client01)" --name)"
for m in server client02; do
    expect "$m (broad) was never touched" test "$(guest_lines "$m" /data/KB3)" = 0
done

# ---- (d) killed mid-ring, resumed ---------------------------------------
plan "$work/d.xml" '<patch id="KB4" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>sleep 3; echo KB4 >> /data/patch-count-KB4; sync</arg></install>
    <check os="linux"><arg>/bin/grep</arg><arg>-qx</arg><arg>KB4</arg><arg>/data/patch-count-KB4</arg></check></patch>' no
runs="$runs d-$$"
"$NESTLAB" rollout run --id "d-$$" "$work/d.xml" >"$work/d.out" 2>&1 &
pid=$!
journal="$NESTLAB_STATE_DIR/rollouts/d-$$/journal"
i=0
# Kill it while a broad-ring machine is installing.
installing_in_broad() {
    [ -f "$journal" ] &&
        awk '/^\[/ { g = $0 } /^state=installing/ && g ~ /^\[target now\/broad\// { f = 1 } END { exit !f }' "$journal"
}
until installing_in_broad; do
    i=$((i + 1)); [ "$i" -lt 600 ] || fail "the run never reached the broad ring"
    kill -0 "$pid" 2>/dev/null || fail "the run ended before it could be killed: $(cat "$work/d.out")"
    sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
expect "status shows the killed run as interrupted" \
    sh -c "'$NESTLAB' rollout status 'd-$$' | grep -q 'interrupted'"
expect "the killed run resumes to the end" "$NESTLAB" rollout resume "d-$$"
for m in server client01 client02; do
    expect "$m has KB4 exactly once" test "$(guest_lines "$m" /data/patch-count-KB4)" = 1
done
expect "a finished run is not resumed again" sh -c "! '$NESTLAB' rollout resume 'd-$$' 2>/dev/null"
# ---- (e) a UEFI target: overlay restore points ---------------------------
"$NESTLAB" destroy --yes "$lab" >/dev/null || fail "destroy of the tiny lab failed"
"$NESTLAB" up --no-status "$NESTLAB_SOURCE/tests/data/system/uefi-lab.xml" --set "guest_dir=$dir" \
    --set "lab=$ulab" --set "subnet_prefix=10.213.$((octet + 1))" >/dev/null || fail "up of the UEFI lab failed"
efi="$ulab-efi"
nl_wait_agent "$efi" 180
uplan() { # $1 file, $2 patch XML, $3 replica yes/no
    cat >"$1" <<EOF
<rollout name="sys-$ulab" agent-timeout="90s">
  $2
  <targets><lab name="$ulab"/></targets>
  <health name="agent"><agent/></health>
  <replica enabled="$3" keep="no" boot-timeout="180s"/>
  <ring name="all" select="*" batches="1" max-parallel="1" failure-budget="0"/>
</rollout>
EOF
}
# In memory only (the root file system is the initramfs): it survives a
# rollback only if the memory is restored.
nl_guest_sh "$efi" 'echo before >/ram-marker; touch /run/nestlab-fail' >/dev/null
uplan "$work/e1.xml" '<patch id="KB5" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>echo KB5 >> /data/KB5; echo x >/ram-after; sync; test ! -e /run/nestlab-fail</arg></install></patch>' no
runs="$runs e1-$$"
expect "a failing patch on a UEFI machine fails the rollout" \
    sh -c "! '$NESTLAB' rollout run --now --id 'e1-$$' '$work/e1.xml' >'$work/e1.out' 2>&1"
expect "the UEFI machine was rolled back" grep -q "$efi .*rolled-back" "$work/e1.out"
nl_wait_agent "$efi" 180
expect "the change is gone from its disk" nl_guest_sh "$efi" '! test -e /data/KB5'
expect "its memory is the one from before the patch" nl_guest_sh "$efi" 'test -e /ram-marker && ! test -e /ram-after'
nl_guest_sh "$efi" 'rm -f /run/nestlab-fail' >/dev/null
uplan "$work/e2.xml" '<patch id="KB6" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>echo KB6 >> /data/KB6; sync</arg></install></patch>' yes
runs="$runs e2-$$"
expect "a good patch goes through a replica of the UEFI + TPM machine, then to it" \
    sh -c "'$NESTLAB' rollout run --now --id 'e2-$$' '$work/e2.xml' >'$work/e2.out' 2>&1 || { cat '$work/e2.out' >&2; exit 1; }"
replica_passed() {
    "$NESTLAB" rollout status --json "e2-$$" | python3 -c '
import json, sys
t = json.load(sys.stdin)["targets"]
sys.exit(0 if any(x["pass"] == "replica" and x["outcome"] == "installed" for x in t) else 1)'
}
expect "the replica passed" replica_passed
expect "the replica is gone" sh -c "! virsh -q -c '$URI' list --all --name | grep -q '^replica-'"
expect "it is on its disk" test "$(nl_guest_sh "$efi" 'cat /data/KB6')" = KB6
expect "the overlay was folded back: the disk is the machine's own volume again" \
    sh -c "virsh -q -c '$URI' domblklist '$efi' | grep -q '$efi-disk0.qcow2' && ! virsh -q -c '$URI' vol-list default | grep -q '$efi.*@nl-'"
expect "and so is its persistent definition" \
    sh -c "virsh -q -c '$URI' dumpxml --inactive '$efi' | grep -q '$efi-disk0.qcow2'"
expect "no restore point record is left" \
    sh -c "! virsh -q -c '$URI' metadata '$efi' https://nestlab.dev/xmlns/restore/1 >/dev/null 2>&1"
expect "a power cycle" sh -c "virsh -q -c '$URI' destroy '$efi' >/dev/null && virsh -q -c '$URI' start '$efi' >/dev/null"
nl_wait_agent "$efi" 180
expect "KB6 survives it" test "$(nl_guest_sh "$efi" 'cat /data/KB6')" = KB6
say "rollout system tests passed"
