#!/bin/sh
# Installs what nestlab needs on a fresh Debian 12 machine (as root): build
# tools and libraries (clang and its sanitizer runtimes, only recommended by
# clang, for the sanitizer build of scripts/test.sh); a real libvirtd with
# QEMU for the system tests; python3 and xmllint (libxml2-utils) for the
# checks of the shipped role recipes; libwim-dev (reading Windows install
# images) and wimtools (the tests make WIMs with it); python3-icalendar (the
# host-rollout test parses the downtime notice back with it); iproute2 and
# util-linux (ip, unshare, nsenter, taskset) for the second libvirt host of
# the system tests (tests/system/tools/second-host.sh).
# Idempotent: installs only what is missing, starts libvirtd only if it is down.
set -eu

PACKAGES="
  gcc meson ninja-build pkg-config git
  clang libclang-rt-14-dev
  libglib2.0-dev libxml2-dev libxml2-utils libvirt-dev libvirt-clients
  check libosinfo-1.0-dev osinfo-db libisofs-dev libcrypt-dev libwim-dev wimtools
  libvirt-daemon-system qemu-system-x86 qemu-utils dnsmasq-base
  ovmf swtpm swtpm-tools
  busybox-static cpio zstd xz-utils e2fsprogs socat
  bash-completion python3 python3-icalendar iproute2 util-linux
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing packages:$missing (run as root to install them)" >&2
        exit 1
    fi
    echo "setup: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq -o Dpkg::Options::=--force-confnew --no-install-recommends $missing
fi

# Without udev no rule has given /dev/kvm to group kvm (Debian's udev rules
# make it root:kvm 0660), so QEMU, running as libvirt-qemu:kvm, cannot open
# it and libvirt probes QEMU again on every call. Do what the rule would,
# before libvirtd starts; on a host with udev, leave the device alone.
if [ -c /dev/kvm ] && [ ! -S /run/udev/control ] && getent group kvm >/dev/null; then
    if [ "$(stat -c '%G %a' /dev/kvm)" != "kvm 660" ]; then
        if [ "$(id -u)" = 0 ]; then
            chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
            echo "setup: no udev here: /dev/kvm set to group kvm, mode 0660, as Debian's udev rules do"
        else
            echo "setup: /dev/kvm is not group kvm mode 0660 and there is no udev: run as root to fix it" >&2
        fi
    fi
fi

# Without systemd, libvirtd and virtlogd are started by hand.
"$(dirname "$0")/start-libvirtd.sh"
