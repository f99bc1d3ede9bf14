#!/bin/sh
# Golden images from the disks users have: a disk made with qemu-img in each
# format nestlab imports (VHD, VHDX, VMDK, qcow2, raw), imported and compared
# with the original (qemu-img compare); a GPT disk with an EFI partition is
# recorded as UEFI, an MBR one as BIOS; a VHDX that is not one is refused
# (exit 2); a killed import leaves no volume and the next one succeeds; a
# template names an image by its name alone; an image a lab clones cannot be
# removed until the lab is gone.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd

work=$(mktemp -d "${TMPDIR:-/tmp}/nltest-images.XXXXXX")
export NESTLAB_STATE_DIR="$work/state"
p=nltimg$$
lab=$(nl_lab_name img)
nl() { "$NESTLAB" -c "$URI" "$@"; }
pooldir=$(virsh -q -c "$URI" pool-dumpxml default | sed -n 's:.*<path>\(.*\)</path>.*:\1:p')

cleanup() {
    rc=$?
    [ -n "${bg:-}" ] && kill -9 "$bg" 2>/dev/null
    nl_remove_lab "$lab"
    for v in $(virsh -q -c "$URI" vol-list default 2>/dev/null | awk '{print $1}' | grep "^$p" || true); do
        say "left behind: volume $v"
        virsh -q -c "$URI" vol-delete --pool default "$v" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A 64 MiB disk with data, and a GPT whose first partition is an EFI one
# (only what nestlab reads: the header signature and the partition type).
qemu-img create -q -f raw "$work/mbr.raw" 64M
dd if=/dev/urandom of="$work/mbr.raw" bs=1M seek=10 count=2 conv=notrunc status=none
cp "$work/mbr.raw" "$work/gpt.raw"
python3 - "$work/gpt.raw" <<'PY'
import sys, uuid
with open(sys.argv[1], "r+b") as f:
    f.seek(512); f.write(b"EFI PART")
    f.seek(1024); f.write(uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B").bytes_le)
PY
for f in vpc:vhd vhdx:vhdx vmdk:vmdk qcow2:qcow2; do
    qemu-img convert -f raw -O "${f%%:*}" "$work/gpt.raw" "$work/disk.${f#*:}"
done
cp "$work/gpt.raw" "$work/disk.raw"

for e in vhd vhdx vmdk qcow2 raw; do
    expect "a $e disk is imported" nl image import "$work/disk.$e" --name "$p-$e" --os debian12
    expect "the $e image holds the same data" \
        qemu-img compare -q -f raw -F qcow2 "$work/gpt.raw" "$pooldir/$p-$e.qcow2"
done
expect "the images are listed, each as UEFI (GPT with an EFI partition)" sh -c "
    '$NESTLAB' -c '$URI' image list --json | python3 -c '
import json, sys
imgs = {i[\"name\"]: i for i in json.load(sys.stdin)}
ok = all(imgs[\"$p-\" + e][\"firmware\"] == \"uefi\" for e in (\"vhd\", \"vhdx\", \"vmdk\", \"qcow2\", \"raw\"))
ok = ok and imgs[\"$p-vhd\"][\"source_format\"] == \"vpc\" and len(imgs[\"$p-raw\"][\"sha256\"]) == 64
sys.exit(0 if ok else 1)'"
expect "an MBR disk is BIOS" sh -c "
    '$NESTLAB' -c '$URI' image import '$work/mbr.raw' --name '$p-mbr' --os debian12 | grep -q 'firmware bios'"
cp "$work/mbr.raw" "$work/fake.vhdx"
expect "a VHDX that is not one is refused with exit 2" sh -c "
    '$NESTLAB' -c '$URI' image import '$work/fake.vhdx' --name '$p-fake' --os debian12 2>'$work/err'; [ \$? = 2 ]"
expect "it says what the file is" grep -q "is not a VHDX: qemu-img reads it as raw" "$work/err"
expect "a taken name is refused" sh -c "! '$NESTLAB' -c '$URI' image import '$work/disk.raw' --name '$p-raw' --os debian12 2>/dev/null"

# A killed import: no volume, and the next import of the name works.
qemu-img create -q -f raw "$work/big.raw" 2G
dd if=/dev/urandom of="$work/big.raw" bs=1M count=64 conv=notrunc status=none
nl image import "$work/big.raw" --name "$p-big" --os debian12 >/dev/null 2>&1 &
bg=$!
sleep 0.5
kill -9 "$bg"; wait "$bg" 2>/dev/null || true; bg=
virsh -q -c "$URI" pool-refresh default >/dev/null
expect "a killed import leaves no volume" sh -c "! virsh -q -c '$URI' vol-list default | grep -q '$p-big'"
expect "and no record" sh -c "! '$NESTLAB' image list | grep -q '$p-big'"
expect "the next import of the name succeeds" sh -c "
    '$NESTLAB' -c '$URI' image import '$work/big.raw' --name '$p-big' --os debian12 >'$work/out' 2>&1 ||
    { cat '$work/out' >&2; exit 1; }"

# A template names an image by its name alone.
cat >"$work/lab.xml" <<EOF2
<lab name="$lab">
  <image name="$p-qcow2"/>
  <network name="net" mode="isolated" subnet="10.213.97.0/24"/>
  <machine name="m" memory="128MiB" firmware="bios"><disk image="$p-qcow2"/><nic network="net"/></machine>
</lab>
EOF2
expect "a template naming an image by name is valid" nl validate "$work/lab.xml"
expect "its machine's disk is a linked clone of the image" sh -c "
    '$NESTLAB' -c '$URI' up --define-only --no-status '$work/lab.xml' >/dev/null &&
    virsh -q -c '$URI' vol-dumpxml --pool default '$lab-m-disk0.qcow2' | grep -q '$pooldir/$p-qcow2.qcow2'"
expect "an image a lab clones is not removed" sh -c "
    ! '$NESTLAB' -c '$URI' image remove '$p-qcow2' 2>'$work/err' && grep -q 'in use: lab $lab' '$work/err'"
expect "destroy, then remove works" sh -c "
    '$NESTLAB' -c '$URI' destroy --yes '$lab' >/dev/null && '$NESTLAB' -c '$URI' image remove '$p-qcow2' >/dev/null"
cat >"$work/missing.xml" <<EOF2
<lab name="$lab"><image name="$p-nosuch"/></lab>
EOF2
expect "an unknown image names the commands that make one" sh -c "
    '$NESTLAB' validate '$work/missing.xml' 2>&1 | grep -q 'nestlab image import FILE --name $p-nosuch'"
for e in vhd vhdx vmdk raw mbr big; do
    nl image remove "$p-$e" >/dev/null || fail "image remove $p-$e failed"
done
expect "nothing is left in the pool" sh -c "! virsh -q -c '$URI' vol-list default | grep -q '$p'"
