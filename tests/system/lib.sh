# Shared helpers for nestlab's system tests (sourced by tests/system/*.sh).
# They drive the real CLI against a real libvirtd (qemu:///system) with tiny
# guests. Nothing here skips: a missing libvirtd or QEMU fails the test.
set -eu

: "${NESTLAB:?NESTLAB must point at the nestlab binary (meson sets it)}"
: "${NESTLAB_SOURCE:?NESTLAB_SOURCE must point at the source tree (meson sets it)}"
: "${NESTLAB_BUILD_ROOT:?NESTLAB_BUILD_ROOT must point at the build tree (meson sets it)}"
export LIBVIRT_DEFAULT_URI=qemu:///system
URI=qemu:///system

say() { printf '# %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# Describes behaviour in words, like git's test_expect_success.
expect() {
    desc=$1; shift
    if "$@"; then say "ok: $desc"; else fail "$desc"; fi
}

# Starts libvirtd if needed (root), or fails loudly.
nl_require_libvirtd() {
    command -v virsh >/dev/null || fail "virsh is missing: run scripts/setup.sh"
    command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is missing: run scripts/setup.sh"
    sh "$NESTLAB_SOURCE/scripts/start-libvirtd.sh" || fail "libvirtd is not running and could not be started"
    virsh -q -c "$URI" version >/dev/null || fail "libvirtd does not answer on $URI"
    # The default storage pool the templates use.
    if ! virsh -q -c "$URI" pool-info default >/dev/null 2>&1; then
        mkdir -p /var/lib/libvirt/images
        virsh -q -c "$URI" pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
        virsh -q -c "$URI" pool-autostart default >/dev/null
    fi
    virsh -q -c "$URI" pool-start default >/dev/null 2>&1 || true
    virsh -q -c "$URI" pool-info default | grep -q running || fail "storage pool 'default' is not running"
}

# Builds the tiny guest once (serialised with flock) and prints its folder.
# The default lives under /var/lib/nestlab, which the libvirt-qemu user can
# reach whatever the build tree's location (a tree under /root it cannot).
nl_guest_dir() {
    dir=${NESTLAB_GUEST_DIR:-/var/lib/nestlab/guest}
    mkdir -p "$dir"
    (
        flock 9
        bash "$NESTLAB_SOURCE/tests/guest/build.sh" "$dir" >&2
    ) 9>"$dir.lock" || fail "building the tiny guest failed"
    printf '%s\n' "$dir"
}

# A lab name unique to this test run.
nl_lab_name() {
    printf 'nlt%s%s\n' "$1" "$$"
}

# Waits up to $2 seconds (default 90) for the guest agent of domain $1.
nl_wait_agent() {
    dom=$1; limit=${2:-90}; i=0
    while [ "$i" -lt "$limit" ]; do
        if virsh -q -c "$URI" qemu-agent-command "$dom" '{"execute":"guest-ping"}' >/dev/null 2>&1; then
            return 0
        fi
        sleep 1; i=$((i + 1))
    done
    fail "guest agent of $dom did not answer within ${limit}s"
}

# Runs /bin/sh -c "$2" in domain $1 through the guest agent; prints its
# stdout and returns its exit code.
nl_guest_sh() {
    dom=$1; cmd=$2
    json=$(python3 -c 'import json,sys; print(json.dumps({"execute":"guest-exec","arguments":{"path":"/bin/sh","arg":["-c",sys.argv[1]],"capture-output":True}}))' "$cmd")
    pid=$(virsh -q -c "$URI" qemu-agent-command "$dom" "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["return"]["pid"])') \
        || fail "guest-exec failed in $dom"
    i=0
    while :; do
        st=$(virsh -q -c "$URI" qemu-agent-command "$dom" "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}")
        if printf '%s' "$st" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["return"]["exited"] else 1)'; then
            break
        fi
        i=$((i + 1)); [ "$i" -lt 300 ] || fail "command did not finish in $dom: $cmd"
        sleep 0.2
    done
    printf '%s' "$st" | python3 -c '
import base64, json, sys
r = json.load(sys.stdin)["return"]
sys.stdout.write(base64.b64decode(r.get("out-data", "")).decode(errors="replace"))
sys.exit(r.get("exitcode", 1))'
}

# Removes lab $1 with nestlab destroy, then anything named after it that is
# left (a test that failed halfway; the names are unique to the test run),
# saying what was left. For cleanup traps: it never fails.
nl_remove_lab() {
    "$NESTLAB" -c "$URI" destroy --yes "$1" >/dev/null 2>&1 || true
    for d in $(virsh -q -c "$URI" list --all --name | grep "^$1-" || true); do
        say "left behind: domain $d"
        virsh -q -c "$URI" destroy "$d" >/dev/null 2>&1 || true
        virsh -q -c "$URI" undefine "$d" --managed-save --snapshots-metadata --nvram --tpm >/dev/null 2>&1 \
            || virsh -q -c "$URI" undefine "$d" >/dev/null 2>&1 || true
    done
    for v in $(virsh -q -c "$URI" vol-list default 2>/dev/null | awk '{print $1}' | grep "^$1-" || true); do
        say "left behind: volume $v"
        virsh -q -c "$URI" vol-delete --pool default "$v" >/dev/null 2>&1 || true
    done
    for n in $(virsh -q -c "$URI" net-list --all --name | grep "^$1" || true); do
        say "left behind: network $n"
        virsh -q -c "$URI" net-destroy "$n" >/dev/null 2>&1 || true
        virsh -q -c "$URI" net-undefine "$n" >/dev/null 2>&1 || true
    done
}

# The domain type the product chooses on this host (kvm or qemu), as
# `nestlab host check --json` reports it.
nl_decided_type() {
    "$NESTLAB" -c "$URI" host check --json 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["machines"]["domain_type"])'
}

# The replica lab of rollout run $1 (named after the run id's hash).
nl_replica_lab() {
    printf 'replica-%s\n' "$(printf '%s' "$1" | sha256sum | cut -c1-8)"
}

# Removes the replica labs of the rollout runs named in $@.
nl_remove_replicas() {
    for id in "$@"; do
        nl_remove_lab "$(nl_replica_lab "$id")"
    done
}

# The state of rollout run $1 as `rollout status --json` says it
# (running, done, halted, aborted, interrupted, ...), or "unknown".
nl_rollout_state() {
    "$NESTLAB" rollout status --json "$1" 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["state"])' 2>/dev/null || echo unknown
}
