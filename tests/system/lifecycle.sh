#!/bin/sh
# The lab lifecycle as a user runs it, each command its own process, on a
# real libvirtd with tiny guests: up, status, checkpoint, a change inside a
# guest, revert (the change is gone), down, destroy (nothing owned is left),
# while foreign objects with lab-looking names stay untouched; and the same
# checkpoint/revert on a UEFI + TPM guest (nestlab's external overlays) and
# on two cluster nodes sharing a raw disk.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
guest=$(nl_guest_dir)

lab=$(nl_lab_name lc)
ulab=$(nl_lab_name lcu)
slab=$(nl_lab_name lcs)
clab=$(nl_lab_name lcc)
flab=$(nl_lab_name lcf)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nltest-lifecycle.XXXXXX")
vsh() { virsh -q -c "$URI" "$@"; }
nl() { "$NESTLAB" -c "$URI" "$@"; }
tiny="$NESTLAB_SOURCE/templates/tiny-lab.xml"
uefi="$NESTLAB_SOURCE/tests/data/system/uefi-lab.xml"
cluster="$NESTLAB_SOURCE/tests/data/system/cluster-lab.xml"

remove_domain() {
    if vsh domstate "$1" >/dev/null 2>&1; then
        vsh destroy "$1" >/dev/null 2>&1 || true
        vsh undefine "$1" --managed-save --snapshots-metadata --nvram --tpm >/dev/null 2>&1 \
            || vsh undefine "$1" >/dev/null 2>&1 || true
    fi
}
remove_network() {
    vsh net-destroy "$1" >/dev/null 2>&1 || true
    vsh net-undefine "$1" >/dev/null 2>&1 || true
}

cleanup() {
    rc=$?
    # What this test made by hand, then the labs through nestlab itself.
    remove_domain "$lab-foreign"
    remove_domain "$clab-server"
    remove_network "$lab-foreign"
    vsh vol-delete --pool default "$lab-foreign-disk0.qcow2" >/dev/null 2>&1 || true
    for l in "$lab" "$ulab" "$slab" "$clab" "$flab"; do
        nl_remove_lab "$l"
    done
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Foreign objects with names that look like the lab's: never nestlab's to touch.
cat >"$tmp/foreign-domain.xml" <<EOF2
<domain type='qemu'><name>$lab-foreign</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>
EOF2
cat >"$tmp/foreign-network.xml" <<EOF2
<network><name>$lab-foreign</name><bridge name='nlf$$'/></network>
EOF2
vsh define "$tmp/foreign-domain.xml" >/dev/null
vsh net-define "$tmp/foreign-network.xml" >/dev/null
vsh vol-create-as default "$lab-foreign-disk0.qcow2" 16M --format qcow2 >/dev/null

set -- --set "guest_dir=$guest" --set "lab=$lab" --set subnet_prefix=10.213.61

foreign_untouched() {
    vsh domstate "$lab-foreign" >/dev/null 2>&1 \
        && vsh net-info "$lab-foreign" >/dev/null 2>&1 \
        && vsh vol-info --pool default "$lab-foreign-disk0.qcow2" >/dev/null 2>&1
}

refuses_foreign_name() {
    sed "s/$lab-foreign/$clab-server/" "$tmp/foreign-domain.xml" >"$tmp/clash.xml"
    vsh define "$tmp/clash.xml" >/dev/null
    if nl up --set "guest_dir=$guest" --set "lab=$clab" --set subnet_prefix=10.213.63 "$tiny" \
        >"$tmp/clash.out" 2>&1; then
        return 1
    fi
    grep -q "'$clab-server'" "$tmp/clash.out" && ! vsh net-info "$clab-net" >/dev/null 2>&1
}
expect "up refuses to adopt a foreign domain with the lab's name, and changes nothing" refuses_foreign_name

# A machine libvirt cannot start (QEMU refuses an empty kernel): the error
# names the machine and QEMU's own reason, not only a count.
mkdir -p "$tmp/badguest"
: >"$tmp/badguest/vmlinuz"
chmod 755 "$tmp" "$tmp/badguest"
cp "$guest/initrd.img" "$guest/golden.qcow2" "$tmp/badguest/"
chmod 644 "$tmp/badguest/"*
fails_with_qemus_reason() {
    # Without provisioning, every machine starts with its wave (none is held
    # for a step), so each one's failure shows.
    if nl up --no-status --no-provision --set "guest_dir=$tmp/badguest" --set "lab=$flab" --set subnet_prefix=10.213.65 \
        "$tiny" >"$tmp/fail.out" 2>"$tmp/fail.err"; then
        return 1
    fi
    sed 's/^/#   /' "$tmp/fail.err" >&2
    grep -q "3 objects failed:" "$tmp/fail.err" \
        && grep -q "domain $flab-server: starting" "$tmp/fail.err" \
        && grep -q "could not load kernel" "$tmp/fail.err" \
        && grep -q "domain $flab-client01: not started: it starts after 'server', which failed" "$tmp/fail.err"
}
expect "a machine that cannot start fails up with QEMU's reason, per machine" fails_with_qemus_reason
nl_remove_lab "$flab"

decided=$(nl_decided_type)
up_says_why() {
    nl up "$@" "$tiny" >"$tmp/up.out" || return 1
    grep '^machines: ' "$tmp/up.out" | sed 's/^/#   /' >&2
    grep -q "^machines: .*domain type $decided" "$tmp/up.out"
}
expect "up builds the lab and starts it, saying how machines run here and why" up_says_why "$@"
expect "its machines have the domain type the host decided ($decided)" \
    sh -c "virsh -q -c '$URI' dumpxml --inactive '$lab-server' | grep -q \"<domain type='$decided'\""
expect "a second up changes nothing" sh -c "'$NESTLAB' -c '$URI' up $* '$tiny' | grep -q ': 0 done, .* 0 failed'"

validates() {
    for d in server client01 client02; do
        vsh dumpxml --inactive "$lab-$d" >"$tmp/$d.xml" || return 1
        virt-xml-validate "$tmp/$d.xml" domain >/dev/null || return 1
    done
    vsh net-dumpxml "$lab-net" >"$tmp/net.xml" && virt-xml-validate "$tmp/net.xml" network >/dev/null
}
expect "the lab's domains and network pass virt-xml-validate" validates

nl_wait_agent "$lab-server" 120
status_shows_the_lab() {
    nl status "$lab" >"$tmp/status.txt" || return 1
    grep -Eq '^  server +generic +running' "$tmp/status.txt" || return 1
    nl status --json "$lab" | python3 -c '
import json, sys
labs = json.load(sys.stdin)
assert len(labs) == 1 and labs[0]["name"] == sys.argv[1], labs
ms = {m["name"]: m for m in labs[0]["machines"]}
assert set(ms) == {"server", "client01", "client02"}, ms
assert ms["server"]["state"] == "running" and ms["server"]["wave"] == 0 and ms["client01"]["wave"] == 1
assert ms["server"]["nested"] is False
' "$lab"
}
expect "status shows the lab's machines (table and JSON)" status_shows_the_lab

expect "checkpoint of the running lab" nl checkpoint "$lab" clean
expect "checkpoint --list names it on every machine" sh -c "'$NESTLAB' -c '$URI' checkpoint '$lab' --list | grep -Eq '^clean +3/3 +internal +3/3 '"
nl_guest_sh "$lab-server" 'echo changed >/data/x && sync' >/dev/null
[ "$(nl_guest_sh "$lab-server" 'cat /data/x')" = changed ] || fail "the change was not written"
expect "revert to the checkpoint" nl revert "$lab" clean
nl_wait_agent "$lab-server" 120
reverted_gone() { ! nl_guest_sh "$lab-server" 'test -e /data/x' >/dev/null; }
expect "revert undoes the change inside the guest" reverted_gone

all_off() {
    for d in server client01 client02; do
        [ "$(vsh domstate "$lab-$d")" = "shut off" ] || return 1
    done
}
expect "down shuts every machine down" nl down --timeout 60 "$lab"
expect "every machine is off" all_off

expect "destroy removes the lab" nl destroy --yes "$lab"
nothing_owned_left() {
    ! vsh list --all --name | grep -q "^$lab-[sc]" \
        && ! vsh net-list --all --name | grep -qx "$lab-net" \
        && ! vsh vol-list default | grep -q "$lab-\(server\|client\)"
}
expect "no object of the lab is left" nothing_owned_left
expect "the foreign domain, network and volume are untouched" foreign_untouched
expect "status no longer knows the lab" sh -c "! '$NESTLAB' -c '$URI' status '$lab' >/dev/null 2>&1"

# UEFI + TPM: QEMU refuses internal snapshots with pflash firmware.
set -- --set "guest_dir=$guest" --set "lab=$ulab" --set subnet_prefix=10.213.62
expect "up of a UEFI + TPM guest" nl up --no-status "$@" "$uefi"
nl_wait_agent "$ulab-efi" 180
# The guest's root file system is its initramfs, in memory: a file there
# survives a revert only if the memory does.
nl_guest_sh "$ulab-efi" 'echo before >/ram-marker' >/dev/null
expect "checkpoint of the running UEFI guest" nl checkpoint "$ulab" clean
expect "it is an external checkpoint, with memory" sh -c "'$NESTLAB' -c '$URI' checkpoint '$ulab' --list | grep -Eq '^clean +1/1 +external +1/1 '"
expect "its memory was saved beside its disks" sh -c "virsh -q -c '$URI' vol-list default | grep -q '$ulab-efi@clean.mem'"
nl_guest_sh "$ulab-efi" 'echo changed >/data/x && echo after >/ram-after && sync' >/dev/null
expect "revert of the UEFI guest" nl revert "$ulab" clean
expect "it runs again without a boot" test "$(vsh domstate "$ulab-efi")" = running
nl_wait_agent "$ulab-efi" 180
uefi_reverted() { ! nl_guest_sh "$ulab-efi" 'test -e /data/x' >/dev/null; }
expect "revert undoes the change on the UEFI guest's disk" uefi_reverted
expect "revert brings back the UEFI guest's memory (a file in RAM from before the checkpoint)" \
    nl_guest_sh "$ulab-efi" 'test -e /ram-marker'
expect "and forgets what was in memory after it" nl_guest_sh "$ulab-efi" '! test -e /ram-after'
expect "memory and disk agree: the guest's file system reports no error" \
    nl_guest_sh "$ulab-efi" 'ls -la /data >/dev/null && cat /data/nestlab-golden >/dev/null && ! dmesg | grep -q "EXT4-fs error"'
expect "deleting the newest external checkpoint" nl checkpoint "$ulab" --delete clean
expect "folds its overlay back: the disk is the machine's own volume again" \
    sh -c "virsh -q -c '$URI' domblklist '$ulab-efi' | grep -q '$ulab-efi-disk0.qcow2' && ! virsh -q -c '$URI' vol-list default | grep -q '$ulab-efi-vda@clean'"
expect "while the guest runs on, memory intact" nl_guest_sh "$ulab-efi" 'test -e /ram-marker && ls /data >/dev/null'
# The same on a machine that is off: qemu-img folds the overlay back, and
# what was written after the checkpoint stays.
expect "a second checkpoint" nl checkpoint "$ulab" later
nl_guest_sh "$ulab-efi" 'echo kept >/data/kept && sync' >/dev/null
expect "the machine is powered off" vsh destroy "$ulab-efi"
expect "deleting the checkpoint of a machine that is off" nl checkpoint "$ulab" --delete later
expect "folds its overlay back too" \
    sh -c "virsh -q -c '$URI' dumpxml --inactive '$ulab-efi' | grep -q '$ulab-efi-disk0.qcow2' && ! virsh -q -c '$URI' vol-list default | grep -q '$ulab-efi-vda@later'"
# libvirt 9.0 names the NVRAM of the firmware it picked only while the
# machine runs: a checkpoint of the machine that is off copies it all the same.
expect "a checkpoint of the machine that is off copies its NVRAM too" \
    sh -c "'$NESTLAB' -c '$URI' checkpoint '$ulab' off >/dev/null && virsh -q -c '$URI' vol-list default | grep -q '$ulab-efi@off.nvram'"
expect "and deleting it removes the copy" \
    sh -c "'$NESTLAB' -c '$URI' checkpoint '$ulab' --delete off >/dev/null && ! virsh -q -c '$URI' vol-list default | grep -q '$ulab-efi@off'"
expect "the machine starts again" vsh start "$ulab-efi"
nl_wait_agent "$ulab-efi" 180
kept_after() { test "$(nl_guest_sh "$ulab-efi" 'cat /data/kept')" = kept; }
expect "what was written after the checkpoint is still there" kept_after
expect "destroy removes the UEFI lab" nl destroy --yes "$ulab"
uefi_gone() {
    ! vsh list --all --name | grep -qx "$ulab-efi" && ! vsh vol-list default | grep -q "$ulab-"
}
expect "no overlay, NVRAM or TPM copy of the UEFI lab is left" uefi_gone
expect "the foreign objects are still untouched" foreign_untouched

# Cluster nodes sharing a raw disk: external overlays without the shared disk.
set -- --set "guest_dir=$guest" --set "lab=$slab" --set subnet_prefix=10.213.63
expect "up of two nodes sharing a disk" nl up --no-status "$@" "$cluster"
nl_wait_agent "$slab-node01" 180
nl_guest_sh "$slab-node01" 'echo before >/ram-marker' >/dev/null
expect "checkpoint of the cluster nodes" nl checkpoint "$slab" clean
expect "they take external checkpoints" sh -c "'$NESTLAB' -c '$URI' checkpoint '$slab' --list | grep -Eq '^clean +2/2 +external +0/2 '"
shared_out() { vsh dumpxml "$slab-node01" | grep -q "$slab-shared-quorum.raw"; }
expect "the shared disk is still attached as itself, not an overlay" shared_out
nl_guest_sh "$slab-node01" 'echo changed >/data/x && echo after >/ram-after && sync' >/dev/null
expect "revert of the cluster nodes" nl revert "$slab" clean
nl_wait_agent "$slab-node01" 180
cluster_reverted() { ! nl_guest_sh "$slab-node01" 'test -e /data/x' >/dev/null; }
expect "revert undoes the change inside a node" cluster_reverted
expect "the node booted fresh: no memory is restored over a disk the checkpoint left out" \
    nl_guest_sh "$slab-node01" '! test -e /ram-marker && ! test -e /ram-after'
expect "the node's file system reports no error" \
    nl_guest_sh "$slab-node01" 'ls -la /data >/dev/null && cat /data/nestlab-golden >/dev/null && ! dmesg | grep -q "EXT4-fs error"'
expect "the shared volume survives the revert" sh -c "virsh -q -c '$URI' vol-list default | grep -q '$slab-shared-quorum.raw'"
expect "destroy removes the cluster lab" nl destroy --yes "$slab"
expect "no volume of the cluster lab is left, the shared one included" \
    sh -c "! virsh -q -c '$URI' vol-list default | grep -q '$slab-'"
