#!/bin/sh
# Starts virtlogd and libvirtd (root, no systemd) unless qemu:///system already answers.
set -eu

if virsh -q -c qemu:///system version >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "start-libvirtd: libvirtd is not running and only root can start it" >&2
    exit 1
fi
mkdir -p /var/log/libvirt /run/libvirt
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
i=0
while ! virsh -q -c qemu:///system version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then
        echo "start-libvirtd: libvirtd did not answer on qemu:///system within 30 s" >&2
        exit 1
    fi
    sleep 0.5
done
