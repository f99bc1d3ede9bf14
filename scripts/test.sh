#!/bin/sh
# Runs nestlab's whole test suite (unit, integration on test:///default,
# system on a real libvirtd with QEMU): installs what is missing, starts
# libvirtd, builds, runs `meson test`, and ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh
BUILD=${NESTLAB_BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD"
fi
ninja -C "$BUILD"

rc=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@" || rc=$?
python3 scripts/test-summary.py "$BUILD/meson-logs/testlog.json" || rc=1
exit $rc
