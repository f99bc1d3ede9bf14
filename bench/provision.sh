#!/bin/sh
# Provisioning wall time of the tiny lab against its critical path: the
# longest chain of steps that wait for each other (server:serve, then the
# slower client's fetch), each step's time as nestlab measured it in the
# same run. A ratio near 1 says the engine adds little beyond the steps
# themselves (agent round trips, records, parallel start); the target is
# under 1.3. Needs a running libvirtd and the tiny guest (tests/guest).
set -eu
S=${NESTLAB_SOURCE:?}
N=${NESTLAB:?}
URI=qemu:///system
lab=nlbprov$$
work=$(mktemp -d "${TMPDIR:-/tmp}/nlbench-provision.XXXXXX")
export NESTLAB_STATE_DIR="$work/state"
guest=${NESTLAB_GUEST_DIR:-/var/lib/nestlab/guest}
trap '"$N" -c $URI destroy --yes "$lab" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash "$S/tests/guest/build.sh" "$guest" >&2
set -- --set "guest_dir=$guest" --set "lab=$lab" --set subnet_prefix=10.213.95 "$S/templates/tiny-lab.xml"
"$N" -c $URI up --no-provision --no-status "$@" >/dev/null
for m in server client01 client02; do
    i=0
    until virsh -q -c $URI qemu-agent-command "$lab-$m" '{"execute":"guest-ping"}' >/dev/null 2>&1; do
        i=$((i + 1)); [ "$i" -lt 180 ] || { echo "no agent in $lab-$m" >&2; exit 1; }
        sleep 1
    done
done
"$N" -c $URI provision "$@" >"$work/out"
awk '
    $3 == "done" { gsub(/[()s]/, "", $4); t[$1 ":" $2] = $4 }
    /^provisioning of lab .*done before/ { w = $0; sub(/.*\(/, "", w); sub(/ s\).*/, "", w) }
    END {
        f = t["client01:fetch"] > t["client02:fetch"] ? t["client01:fetch"] : t["client02:fetch"]
        cp = t["server:serve"] + f
        printf "provision: wall %.2f s, critical path %.2f s (serve %.2f + fetch %.2f): ratio %.2f (target < 1.3)\n", w, cp, t["server:serve"], f, w / cp
    }' "$work/out"
