#!/bin/sh
# The second libvirt host the host-rollout tests use
# (tests/system/tools/second-host.sh): it answers with a host UUID of its
# own, runs tiny guests, keeps a managed save across its reboot, moves a
# live guest to qemu:///system and back, and a reboot power-cycles its
# guests (the boot counter in the guest tells) while persistent definitions
# survive. Stopping it leaves nothing behind.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
command -v ip >/dev/null || fail "ip is missing: run scripts/setup.sh"
golden=$(nl_guest_dir)/golden.qcow2

saved=nlt2hs$$
moved=nlt2hm$$

cleanup() {
    rc=$?
    trap - EXIT INT TERM
    if [ "$rc" != 0 ] && [ -n "${SECOND_SHARED:-}" ]; then
        for c in "$SECOND_SHARED"/*.console; do
            [ -s "$c" ] || continue
            say "console of ${c##*/} (last 15 lines):"
            tail -n 15 "$c" | sed 's/^/#   /' >&2
        done
    fi
    for d in "$saved" "$moved"; do
        if virsh -q -c qemu:///system dominfo "$d" >/dev/null 2>&1; then
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

# Runs "$@" with the lib's helpers pointed at connection $1.
# shellcheck disable=SC2034
on() {
    (URI=$1; shift; "$@")
}

host_uuid() {
    virsh -q -c "$1" capabilities | sed -n 's:^ *<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1
}

boots() {
    on "$1" nl_guest_sh "$2" 'wc -l </data/nestlab-boots' | tr -d ' \n'
}

boots_are() {
    [ "$(boots "$1" "$2")" = "$3" ]
}

state_is() {
    [ "$(virsh -q -c "$1" domstate "$2" 2>/dev/null)" = "$3" ]
}

not() {
    ! "$@"
}

answers() {
    virsh -q -c "$SECOND_URI" version >/dev/null 2>&1
}

t0=$(date +%s)
nl_second_host_start
say "second host $SECOND_URI up in $(( $(date +%s) - t0 )) s"

expect "the second host answers on its own URI" answers
main_uuid=$(host_uuid qemu:///system)
second_uuid=$(host_uuid "$SECOND_URI")
expect "the second host has a host UUID of its own ($second_uuid, not $main_uuid)" \
    test -n "$second_uuid" -a "$second_uuid" != "$main_uuid"
expect "the second host's default pool runs" \
    sh -c "virsh -q -c '$SECOND_URI' pool-info default | grep -q running"

for d in "$saved" "$moved"; do
    qemu-img create -q -f qcow2 -F qcow2 -b "$golden" "$SECOND_SHARED/$d.qcow2"
    nl_tiny_domain "$d" "$SECOND_SHARED/$d.qcow2" >"$SECOND_SHARED/$d.xml"
    virsh -q -c "$SECOND_URI" define "$SECOND_SHARED/$d.xml" >/dev/null
    virsh -q -c "$SECOND_URI" start "$d" >/dev/null
done
expect "the first guest's agent answers on the second host" on "$SECOND_URI" nl_wait_agent "$saved" 90
expect "the second guest's agent answers on the second host" on "$SECOND_URI" nl_wait_agent "$moved" 90
expect "the first guest has booted once" boots_are "$SECOND_URI" "$saved" 1
expect "the second guest has booted once" boots_are "$SECOND_URI" "$moved" 1

virsh -q -c "$SECOND_URI" managedsave "$saved" >/dev/null
expect "a managed save on the second host stops the guest with its memory kept" \
    sh -c "virsh -q -c '$SECOND_URI' dominfo '$saved' | grep -q '^Managed save: *yes'"

t1=$(date +%s)
expect "a running guest migrates live from the second host to qemu:///system" \
    virsh -q -c "$SECOND_URI" migrate --live --persistent --undefinesource --unsafe \
    "$moved" qemu:///system --migrateuri "$MAIN_MIGRATE_URI"
say "migrated in $(( $(date +%s) - t1 )) s"
expect "it runs on qemu:///system and is gone from the second host" \
    sh -c "[ \"\$(virsh -q -c qemu:///system domstate '$moved')\" = running ] &&
           ! virsh -q -c '$SECOND_URI' dominfo '$moved' >/dev/null 2>&1"
expect "its agent answers on qemu:///system, same boot" boots_are qemu:///system "$moved" 1

t1=$(date +%s)
expect "it migrates live back to the second host" \
    virsh -q -c qemu:///system migrate --live --persistent --undefinesource --unsafe \
    "$moved" "$SECOND_URI" --migrateuri "$SECOND_MIGRATE_URI"
say "migrated in $(( $(date +%s) - t1 )) s"
expect "it is gone from qemu:///system" \
    sh -c "! virsh -q -c qemu:///system dominfo '$moved' >/dev/null 2>&1"
expect "its agent answers on the second host, same boot" boots_are "$SECOND_URI" "$moved" 1

old_boot=$(nl_second_host boot-id)
expect "the host's boot id is what /proc says on it" \
    test "$(nl_second_host exec cat /proc/sys/kernel/random/boot_id)" = "$old_boot"
t1=$(date +%s)
nl_second_host reboot --down 3 || fail "reboot --down 3 failed"
expect "reboot --down returns at once, with the host down" \
    sh -c "[ $(( $(date +%s) - t1 )) -lt 3 ] && ! virsh -q -c '$SECOND_URI' version >/dev/null 2>&1"
i=0
until answers; do
    i=$((i + 1))
    [ "$i" -lt 120 ] || fail "the second host did not come back within 60 s of its reboot"
    sleep 0.5
done
say "the second host answered again $(( $(date +%s) - t1 )) s after reboot --down 3"
new_boot=$(nl_second_host boot-id)
expect "the reboot gave the host a new boot id" test -n "$new_boot" -a "$new_boot" != "$old_boot"
expect "the new boot id is what /proc says on it" \
    test "$(nl_second_host exec cat /proc/sys/kernel/random/boot_id)" = "$new_boot"
expect "the host UUID survived the reboot" test "$(host_uuid "$SECOND_URI")" = "$second_uuid"

expect "the managed save survived the reboot" \
    sh -c "virsh -q -c '$SECOND_URI' dominfo '$saved' | grep -q '^Managed save: *yes'"
virsh -q -c "$SECOND_URI" start "$saved" >/dev/null
expect "the saved guest's agent answers" on "$SECOND_URI" nl_wait_agent "$saved" 30
expect "starting the saved guest resumes it: same boot" boots_are "$SECOND_URI" "$saved" 1

expect "the reboot cut the running guest's power: it is shut off" state_is "$SECOND_URI" "$moved" "shut off"
virsh -q -c "$SECOND_URI" start "$moved" >/dev/null
expect "started again, its agent answers" on "$SECOND_URI" nl_wait_agent "$moved" 90
expect "it has booted a second time" boots_are "$SECOND_URI" "$moved" 2

expect "a command run on the second host sees its host name" \
    test "$(nl_second_host exec hostname)" = nestlab-host2
expect "exec passes the command's exit status through" \
    sh -c "sh '$NL_SECOND_HOST_TOOL' exec '$SECOND_HOST_DIR' sh -c 'exit 7'; [ \$? = 7 ]"

pids=$(ip netns pids "$SECOND_NETNS")
qemus=0
for p in $pids; do
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in qemu-system-*) qemus=$((qemus + 1)) ;; esac
done
expect "both guests' QEMUs run in the second host's network namespace" test "$qemus" = 2
netns=$SECOND_NETNS
veth=$SECOND_VETH
dir=$SECOND_HOST_DIR
t1=$(date +%s)
nl_second_host_stop
say "stopped in $(( $(date +%s) - t1 )) s"

alive() {
    for p in $pids; do
        if [ -e "/proc/$p" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ]; then
            return 0
        fi
    done
    return 1
}
expect "stop removes the network namespace" sh -c "! ip netns list | grep -q '^$netns\\b'"
expect "stop removes the veth pair" sh -c "! ip link show '$veth' >/dev/null 2>&1"
expect "stop ends every process of the second host (its QEMUs too)" not alive
expect "stop removes the host's folder" test ! -e "$dir"
expect "qemu:///system still answers" virsh -q -c qemu:///system version
expect "stop again is harmless" sh "$NL_SECOND_HOST_TOOL" stop "$dir"
say "second-host test took $(( $(date +%s) - t0 )) s"
