#!/bin/sh
# Machines learn who they are from their config disk: the tiny lab comes up
# on a real libvirtd, and through the guest agent each guest must carry its
# machine's name and the template's static address, reach the others on the
# isolated network, and hold root's password hash made from the lab's
# generated secret. The secret itself must be nowhere a user or a log could
# see it: domain and network XML (live and inactive, marks included),
# nestlab's output and JSON, the config disk's image. destroy removes the
# config disks with the rest.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
guest=$(nl_guest_dir)

lab=$(nl_lab_name id)
work=$(mktemp -d "${TMPDIR:-/tmp}/nltest-identity.XXXXXX")
export NESTLAB_STATE_DIR="$work/state"
prefix=10.213.71
tiny="$NESTLAB_SOURCE/templates/tiny-lab.xml"
nl() { "$NESTLAB" -c "$URI" "$@"; }
vsh() { virsh -q -c "$URI" "$@"; }

cleanup() {
    rc=$?
    nl_remove_lab "$lab"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

expect "up of the tiny lab with config disks" \
    sh -c "'$NESTLAB' -c '$URI' up --keep-config-disk --set 'guest_dir=$guest' --set 'lab=$lab' \
        --set subnet_prefix=$prefix '$tiny' >'$work/up.out' 2>&1 || { cat '$work/up.out' >&2; exit 1; }"
secret=$(nl secret show "$lab" root-password) || fail "secret show failed"
[ ${#secret} -ge 16 ] || fail "the generated secret is too short: ${#secret} characters"

for m in server:10 client01:21 client02:22; do
    name=${m%%:*}
    addr=$prefix.${m#*:}
    dom=$lab-$name
    nl_wait_agent "$dom" 180
    expect "$name: its host name is its machine name" \
        sh -c "test \"\$(. '$NESTLAB_SOURCE/tests/system/lib.sh'; nl_guest_sh '$dom' hostname)\" = '$name'"
    expect "$name: it has the template's address $addr/24" \
        sh -c ". '$NESTLAB_SOURCE/tests/system/lib.sh'; nl_guest_sh '$dom' 'ip -4 addr show' | grep -q 'inet $addr/24'"
    expect "$name: its config disk is mounted and labelled cidata" \
        sh -c ". '$NESTLAB_SOURCE/tests/system/lib.sh'; nl_guest_sh '$dom' 'test -f /run/cidata/meta-data && grep -q \"local-hostname: $name\" /run/cidata/meta-data'"
    # root's hash, checked against the secret on the host (the guest has no crypt).
    hash=$(nl_guest_sh "$dom" "awk -F: '\$1 == \"root\" { print \$2 }' /etc/shadow")
    expect "$name: root's password hash is SHA-512 crypt of the lab's secret" \
        python3 -c '
import sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
import crypt
secret, hash = sys.argv[1], sys.argv[2]
sys.exit(0 if hash.startswith("$6$") and crypt.crypt(secret, hash) == hash else 1)' "$secret" "$hash"
    # The disk: in the pool, readable by its owner only.
    path=$(vsh vol-path --pool default "$dom-config.iso") || fail "no config volume for $name"
    expect "$name: the config disk is mode 0600" sh -c "test \"\$(stat -c %a '$path')\" = 600"
    vsh vol-download --pool default "$dom-config.iso" "$work/$name.iso" || fail "vol-download failed"
    expect "$name: the config disk holds no plain secret" sh -c "! grep -qaF -- '$secret' '$work/$name.iso'"
    expect "$name: the config disk holds the hash" grep -qaF -- "$hash" "$work/$name.iso"
done

expect "client01 reaches server on the isolated network" \
    sh -c ". '$NESTLAB_SOURCE/tests/system/lib.sh'; nl_guest_sh '$lab-client01' 'ping -c 1 -W 5 $prefix.10'"
expect "client02 reaches client01" \
    sh -c ". '$NESTLAB_SOURCE/tests/system/lib.sh'; nl_guest_sh '$lab-client02' 'ping -c 1 -W 5 $prefix.21'"

# Everywhere the secret must not be.
: >"$work/seen"
for d in server client01 client02; do
    vsh dumpxml "$lab-$d" >>"$work/seen"
    vsh dumpxml --inactive "$lab-$d" >>"$work/seen"
done
vsh net-dumpxml "$lab-net" >>"$work/seen"
nl status "$lab" >>"$work/seen" 2>&1
nl status --json "$lab" >>"$work/seen" 2>&1
nl up --keep-config-disk --set "guest_dir=$guest" --set "lab=$lab" --set subnet_prefix=$prefix "$tiny" >"$work/up2.out" 2>&1 ||
    fail "a second up failed"
cat "$work/up.out" "$work/up2.out" >>"$work/seen"
expect "the secret is in no domain or network XML, mark, status, JSON or up output" \
    sh -c "! grep -qF -- '$secret' '$work/seen'"
expect "the marks list each config disk" grep -q "name=\"$lab-client02-config.iso\"" "$work/seen"
expect "a second up changes nothing" grep -q "up of lab '$lab': 0 done" "$work/up2.out"

expect "destroy removes the lab" nl destroy --yes "$lab"
expect "no config disk is left" sh -c "! virsh -q -c '$URI' vol-list default | grep -q '$lab-'"
