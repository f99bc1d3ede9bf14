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
# By pid file, not by name: a second test host (tests/system/tools/
# second-host.sh) runs another libvirtd and virtlogd, in namespaces of its own.
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/virtlogd.pid || virtlogd -d
running /run/libvirtd.pid || libvirtd -d
i=0
while ! virsh -q -c qemu:///system version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then
        echo "start-libvirtd: libvirtd did not answer on qemu:///system within 30 s" >&2
        exit 1
    fi
    sleep 0.5
done
