#!/bin/sh
# A host window's cost against the host's own power cycle, measured in the
# same run on a second libvirt host (tests/system/tools/second-host.sh)
# with three tiny guests: one saved, one shut down, one migrated to
# qemu:///system and back, no patches. The baseline is a bare power cycle
# of that host (its reboot command until libvirt answers with a new boot
# id). Printed: the window's wall time over the baseline (what draining and
# restoring add), and each guest's downtime over the baseline (1.0 would be
# a guest down exactly as long as its host; a migrated guest is not down).
# Needs root, a running libvirtd and the tiny guest (tests/guest).
set -eu
: "${NESTLAB:?}" "${NESTLAB_SOURCE:?}" "${NESTLAB_BUILD_ROOT:?}"
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
golden=$(nl_guest_dir)/golden.qcow2
export NESTLAB_STATE_DIR="$NESTLAB_BUILD_ROOT/bench-state/host-window"
rm -rf "$NESTLAB_STATE_DIR"; mkdir -p "$NESTLAB_STATE_DIR"
tag=$$
names="nlbhws$tag nlbhwd$tag nlbhwm$tag"
cleanup() {
    for d in $names; do
        virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
        virsh -q -c qemu:///system undefine "$d" --managed-save >/dev/null 2>&1 || true
    done
    nl_second_host_stop
}
trap cleanup EXIT
nl_second_host_start
for g in $names; do
    qemu-img create -q -f qcow2 -F qcow2 -b "$golden" "$SECOND_SHARED/$g.qcow2"
    chmod 0666 "$SECOND_SHARED/$g.qcow2"
    nl_tiny_domain "$g" "$SECOND_SHARED/$g.qcow2" >"$SECOND_SHARED/$g.xml"
    virsh -q -c "$SECOND_URI" define "$SECOND_SHARED/$g.xml" >/dev/null
    virsh -q -c "$SECOND_URI" start "$g" >/dev/null
done
for g in $names; do (URI=$SECOND_URI; nl_wait_agent "$g" 180); done

# The baseline: a bare power cycle with nothing on the host running (the
# guests are saved for it and started again afterwards).
for g in $names; do virsh -q -c "$SECOND_URI" managedsave "$g" >/dev/null; done
t0=$(date +%s.%N)
before=$(nl_second_host boot-id)
nl_second_host reboot --down 3
until [ "$(nl_second_host boot-id 2>/dev/null || true)" != "$before" ] \
      && virsh -q -c "$SECOND_URI" version >/dev/null 2>&1; do sleep 0.2; done
t1=$(date +%s.%N)
for g in $names; do virsh -q -c "$SECOND_URI" start "$g" >/dev/null; done
for g in $names; do (URI=$SECOND_URI; nl_wait_agent "$g" 180); done

tool=$NESTLAB_SOURCE/tests/system/tools/second-host.sh
set -- $names
cat >"$SECOND_SHARED/plan.xml" <<XML
<rollout name="bench" agent-timeout="120s">
  <patch id="NONE" severity="low"><install os="other"><arg>/bin/true</arg></install></patch>
  <targets>
    <host name="hv2" uri="$SECOND_URI" peer="main" run="local" migrate-uri="$SECOND_MIGRATE_URI"
          shared-storage="yes" boot-timeout="180s">
      <guest name="$1" stop="save"/><guest name="$2" stop="shutdown"/><guest name="$3" stop="migrate"/>
      <reboot><arg>/bin/sh</arg><arg>$tool</arg><arg>reboot</arg><arg>$SECOND_HOST_DIR</arg><arg>--down</arg><arg>3</arg></reboot>
      <boot-id><arg>/bin/sh</arg><arg>$tool</arg><arg>boot-id</arg><arg>$SECOND_HOST_DIR</arg></boot-id>
    </host>
    <host name="main" uri="qemu:///system" patch="no" migrate-uri="$MAIN_MIGRATE_URI"/>
  </targets>
</rollout>
XML
t2=$(date +%s.%N)
"$NESTLAB" rollout run --now --id "bhw$tag" "$SECOND_SHARED/plan.xml" >"$SECOND_SHARED/out" 2>&1 \
    || { cat "$SECOND_SHARED/out" >&2; exit 1; }
t3=$(date +%s.%N)
"$NESTLAB" rollout status --json "bhw$tag" | python3 -c '
import json, sys
t = [float(x) for x in sys.argv[1:5]]
base, wall = t[1] - t[0], t[3] - t[2]
h = json.load(sys.stdin)["hosts"][0]
print("host-window: bare power cycle %.1f s; window %.1f s: ratio %.2f (draining and restoring on top)" % (base, wall, wall / base))
for g in h["guests"]:
    d = g.get("downtime") or 0
    print("host-window: %-8s %-14s down %5.1f s: ratio %.2f to the power cycle" % (g["action"], g["name"], d, d / base))
' "$t0" "$t1" "$t2" "$t3"
