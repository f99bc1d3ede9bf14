#!/bin/sh
# nestlab nested enable/disable/status on a real libvirtd, as a user would run
# them: a tiny guest (not nestlab's: defined here with virsh) is made
# nested-ready under emulation, boots, and shows the virtualization extension
# and its new memory inside; after `nested disable` the same guest shows
# neither vmx nor svm. Removes only the domain and temp dir it created.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
guest=$(nl_guest_dir)

dom=nltest-nested-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nltest-nested.XXXXXX")
chmod 0755 "$tmp"   # QEMU runs as libvirt-qemu and must reach the overlay
vsh() { virsh -q -c "$URI" "$@"; }

cleanup() {
    rc=$?
    if vsh domstate "$dom" >/dev/null 2>&1; then
        if [ "$rc" != 0 ] && [ -s "$tmp/console.log" ]; then
            say "console of $dom (last 30 lines):"; tail -n 30 "$tmp/console.log" >&2
        fi
        vsh destroy "$dom" >/dev/null 2>&1 || true
        vsh undefine "$dom" --managed-save --snapshots-metadata >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

qemu-img create -q -f qcow2 -F qcow2 -b "$guest/golden.qcow2" "$tmp/disk.qcow2"
cat >"$tmp/domain.xml" <<EOF
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$tmp/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='$tmp/console.log'/></serial>
    <console type='file'><source path='$tmp/console.log'/></console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
vsh define "$tmp/domain.xml" >/dev/null || fail "defining $dom"

# Runs nestlab, keeping stdout in $tmp/out and stderr in $tmp/err; returns its status.
run() {
    set +e
    "$NESTLAB" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    st=$?
    set -e
    cat "$tmp/out" "$tmp/err" | sed 's/^/#   /' >&2
    return "$st"
}
status_is() { want=$1; shift; run "$@" && st=0 || st=$?; [ "$st" = "$want" ]; }
out_has() { grep -qF -- "$1" "$tmp/out"; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
xml() { vsh dumpxml --inactive "$dom" >"$tmp/dump.xml"; xmllint --xpath "$1" "$tmp/dump.xml"; }
xml_is() { got=$(xml "$1"); [ "$got" = "$2" ] || { say "$1 = '$got', expected '$2'"; return 1; }; }
cpu_ext() { nl_guest_sh "$dom" "grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -cxE 'vmx|svm' || true"; }
mem_kib() { nl_guest_sh "$dom" "awk '/^MemTotal:/ { print \$2 }' /proc/meminfo"; }
boot() {
    vsh start "$dom" >/dev/null || fail "starting $dom"
    nl_wait_agent "$dom" 120
}

expect "host check says plainly that this host cannot run nested hypervisors, and exits 1" \
    status_is 1 host check
expect "it says how machines run here and why" out_has "machines: "
# The product's decision, as host check --json reports it: what every
# domain type below is held against.
status_is 1 host check --json || true
decided=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["machines"]["domain_type"])' "$tmp/out")
say "machines here run as domain type $decided"
if [ ! -e /dev/kvm ]; then
    expect "the missing /dev/kvm is named" grep -qF "/dev/kvm does not exist" "$tmp/out"
    expect "without /dev/kvm, --kvm is refused with the reason" \
        status_is 1 nested enable "$dom" --kvm --yes --memory 512MiB
    expect "the refusal says why KVM cannot work" err_has "--kvm cannot work here: /dev/kvm does not exist"
elif ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
    expect "a KVM without vmx or svm is named as such" \
        grep -qF "KVM without hardware virtualization: ordinary guests cannot run" "$tmp/out"
    expect "so machines are emulated" test "$decided" = qemu
    if [ "$(stat -c %a /dev/kvm)" = 660 ]; then
        expect "--kvm goes ahead there for a user who knows better (dry run)" \
            status_is 0 nested enable "$dom" --kvm --memory 512MiB --dry-run
        expect "with a warning that only guests built for that KVM boot" \
            err_has "only guests built for this KVM will boot"
        expect "and the domain would become type kvm" out_has "domain type: qemu -> kvm"
    fi
fi
expect "--kvm and --emulate together are bad usage (exit 2)" \
    status_is 2 nested enable "$dom" --kvm --emulate --dry-run

expect "a plain guest is not nested-ready (exit 1), with its reasons" \
    status_is 1 nested status "$dom" --memory 512MiB
expect "status says no" out_has "$dom: nested-ready: no"
expect "status names the balloon" out_has "memory balloon present"

expect "a dry run prints the changes and exits 0" \
    status_is 0 nested enable "$dom" --memory 512MiB --dry-run
expect "the dry run says how the host runs machines, and why" out_has "machines: "
if [ "$decided" = qemu ]; then
    expect "the dry run lists the CPU change" out_has "CPU: mode custom -> maximum"
    expect "the dry run labels emulation as slow and for testing only" out_has "slow, for testing only"
fi
expect "the dry run changed nothing" xml_is "string(/domain/cpu/@mode)" "custom"

expect "without a terminal and without --yes, enable refuses with exit 2" \
    status_is 2 nested enable "$dom" --memory 512MiB
expect "the refusal says to pass --yes" err_has "pass --yes"

expect "nested enable --yes redefines the guest" \
    status_is 0 nested enable "$dom" --yes --memory 512MiB
expect "it warns that 512 MiB is below what Hyper-V needs" err_has "below the 4 GiB"
expect "the domain type is the host's decision" xml_is "string(/domain/@type)" "$decided"
[ "$decided" = qemu ] || fail "the steps below are for software emulation; this host chose $decided"
expect "the CPU mode is maximum" xml_is "string(/domain/cpu/@mode)" "maximum"
expect "svm is required" xml_is "string(/domain/cpu/feature[@name='svm']/@policy)" "require"
expect "memory is 512 MiB" xml_is "string(/domain/memory)" "524288"
expect "memory is fixed" xml_is "string(/domain/currentMemory)" "524288"
expect "the balloon is gone" xml_is "string(/domain/devices/memballoon/@model)" "none"
expect "the redefined XML is valid for libvirt" \
    sh -c "virsh -q -c '$URI' dumpxml --inactive '$dom' | virt-xml-validate - domain >&2"
[ "$(vsh domstate "$dom")" = "shut off" ] || fail "enable started the domain"

expect "enabling again changes nothing" \
    status_is 0 nested enable "$dom" --yes --memory 512MiB
expect "and says so" out_has "already set up for nesting"
expect "status now says yes (exit 0)" status_is 0 nested status "$dom" --memory 512MiB
expect "status labels it emulated" out_has "$dom: nested-ready: yes (shut off; emulated"
expect "status --json agrees" status_is 0 nested status "$dom" --memory 512MiB --json
expect "the JSON says ready" out_has "\"ready\": true"

boot
n=$(cpu_ext)
say "virtualization flags inside the enabled guest: $n"
expect "inside the guest, /proc/cpuinfo shows vmx or svm" test "$n" -ge 1
kib=$(mem_kib)
say "MemTotal inside: $kib KiB (configured 524288)"
expect "inside the guest, MemTotal matches the configured 512 MiB" \
    sh -c "[ '$kib' -le 524288 ] && [ '$kib' -gt 440000 ]"

expect "disabling a running guest is refused without --force" \
    status_is 1 nested disable "$dom" --yes
expect "the refusal says to pass --force" err_has "pass --force"
expect "nested disable --force shuts it down and hides the extension" \
    status_is 0 nested disable "$dom" --yes --force --timeout 60
expect "it was shut down" out_has "shutting down '$dom'"
expect "svm is disabled" xml_is "string(/domain/cpu/feature[@name='svm']/@policy)" "disable"
expect "the emulated CPU goes back to qemu64 (QEMU's maximum CPU does not boot with svm off)" \
    xml_is "string(/domain/cpu/model)" "qemu64"
expect "memory is left as it was" xml_is "string(/domain/memory)" "524288"
expect "status says no again, naming the hidden extension" \
    status_is 1 nested status "$dom" --memory 512MiB
expect "the reason is the hidden svm" out_has "svm is hidden from the guest"

boot
n=$(cpu_ext)
say "virtualization flags inside the disabled guest: $n"
expect "inside the guest, /proc/cpuinfo shows neither vmx nor svm" test "$n" -eq 0
kib=$(mem_kib)
expect "memory inside is still 512 MiB" sh -c "[ '$kib' -le 524288 ] && [ '$kib' -gt 440000 ]"

expect "status --all lists this guest" status_is 1 nested status --all --memory 512MiB
expect "with its verdict" out_has "$dom: nested-ready: no (running; emulated"
