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

# --- A second libvirt host (tests/system/tools/second-host.sh) -------------
# Each test run's host and the disks both hosts use live in a folder of
# their own under NL_TEST_HOSTS: libvirt-qemu reaches it, and a run killed
# halfway is found there (its owner is gone) and removed by the next one.
NL_TEST_HOSTS=/var/lib/nestlab/test-hosts
NL_SECOND_HOST_TOOL=$NESTLAB_SOURCE/tests/system/tools/second-host.sh

# The start time of process $1 (field 22 of /proc/PID/stat), which tells a
# live owner from a reused pid.
nl_proc_start() {
    cut -d' ' -f22 "/proc/$1/stat" 2>/dev/null || echo gone
}

# Removes run folder $1: its second host, the domains of qemu:///system
# whose disks it holds, the folder. For cleanup: it never fails.
nl_second_host_remove() {
    sh "$NL_SECOND_HOST_TOOL" stop "$1/host2" || true
    for d in $(virsh -q -c qemu:///system list --all --name 2>/dev/null); do
        virsh -q -c qemu:///system domblklist "$d" 2>/dev/null | grep -q " $1/" || continue
        say "left behind: domain $d on qemu:///system"
        virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
        virsh -q -c qemu:///system undefine "$d" --managed-save >/dev/null 2>&1 || true
    done
    rm -rf "$1"
}

# Starts a second libvirt host for this test run, after removing what a
# killed earlier run left. Sets SECOND_HOST_DIR (the tool's DIR),
# SECOND_SHARED (a folder for disks both hosts use), SECOND_URI,
# SECOND_ADDR, SECOND_MIGRATE_URI (migrations into it), SECOND_NETNS,
# SECOND_VETH, SECOND_HOST_UUID, SECOND_HOST_NAME, and MAIN_ADDR and
# MAIN_MIGRATE_URI (this machine's end of the link: migrations from it
# into qemu:///system).
nl_second_host_start() {
    mkdir -p "$NL_TEST_HOSTS"
    for r in "$NL_TEST_HOSTS"/run.*; do
        [ -d "$r" ] || continue
        read -r opid ostart <"$r/owner" 2>/dev/null || { opid=0; ostart=; }
        [ "$(nl_proc_start "$opid")" != "$ostart" ] || continue
        say "left behind by a run that was killed: $r"
        nl_second_host_remove "$r"
    done
    SECOND_RUN=$(mktemp -d "$NL_TEST_HOSTS/run.XXXXXX")
    chmod 0755 "$SECOND_RUN"
    echo "$$ $(nl_proc_start $$)" >"$SECOND_RUN/owner"
    SECOND_SHARED=$SECOND_RUN/disks
    SECOND_HOST_DIR=$SECOND_RUN/host2
    mkdir -m 0755 "$SECOND_SHARED"
    sh "$NL_SECOND_HOST_TOOL" start "$SECOND_HOST_DIR" || fail "the second libvirt host did not start"
    # shellcheck disable=SC2034
    while IFS='=' read -r k v; do
        v=${v#\'}; v=${v%\'}
        case "$k" in
            URI | ADDR | MIGRATE_URI | NETNS | VETH | HOST_UUID | HOST_NAME) eval "SECOND_$k=\$v" ;;
            HOST_ADDR) MAIN_ADDR=$v ;;
            HOST_MIGRATE_URI) MAIN_MIGRATE_URI=$v ;;
        esac
    done <"$SECOND_HOST_DIR/env"
}

# Stops the second host of this run and removes its folder (disks too).
nl_second_host_stop() {
    [ -n "${SECOND_RUN:-}" ] || return 0
    nl_second_host_remove "$SECOND_RUN"
    SECOND_RUN=
}

# Runs the tool's subcommand $1 on this run's second host: exec, boot-id,
# reboot.
nl_second_host() {
    sub=$1; shift
    sh "$NL_SECOND_HOST_TOOL" "$sub" "$SECOND_HOST_DIR" "$@"
}

# Prints a domain XML for the tiny guest named $1 with qcow2 disk $2 and $3
# MiB of RAM (default 256), fit for either host and for live migration
# between them: software emulation, a CPU model both offer, no NICs, its
# serial console logged next to the disk.
nl_tiny_domain() {
    gdir=$(nl_guest_dir)
    cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>${3:-256}</memory>
  <vcpu>1</vcpu>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$gdir/vmlinuz</kernel>
    <initrd>$gdir/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet nestlab.nonet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <serial type='pty'>
      <log file='${2%.qcow2}.console' append='on'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}
