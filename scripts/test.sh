#!/bin/sh
# Runs nestlab's whole test suite: installs what is missing, starts
# libvirtd, then
#   1. the gcc build ($NESTLAB_BUILD, default build): every tier, unit,
#      integration on test:///default, cli, and system on a real libvirtd
#      with QEMU (arguments go to this `meson test`);
#   2. a clang build with AddressSanitizer and UBSan ($NESTLAB_SANITIZE_BUILD,
#      default build-clang-asan): the unit and integration tiers again, with
#      tests/lsan.supp for what libraries leak (the default test setup).
# Ends with one line, "N passed, N failed", counted over both runs; a build
# or run that fails fails the script.
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh
BUILD=${NESTLAB_BUILD:-build}
SANITIZE_BUILD=${NESTLAB_SANITIZE_BUILD:-build-clang-asan}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD"
fi
# One extra build covers both clang (its warnings are errors too) and the
# sanitizers, where a gcc sanitizer build plus a plain clang one would cost
# two. b_lundef=false: clang's sanitizer runtimes are linked into the
# executables, not the libraries.
if [ ! -f "$SANITIZE_BUILD/build.ninja" ]; then
    CC=clang meson setup "$SANITIZE_BUILD" -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$BUILD"
ninja -C "$SANITIZE_BUILD"

# Logs of an earlier run must not stand in for a run that did not happen.
rm -f "$BUILD/meson-logs/testlog.json" "$SANITIZE_BUILD/meson-logs/testlog.json"
rc=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@" || rc=$?
# Sanitized code runs a few times slower: Check's per-case timeout and
# meson's per-test one stretch alike.
CK_TIMEOUT_MULTIPLIER=3 meson test -C "$SANITIZE_BUILD" --print-errorlogs --num-processes 2 \
    --timeout-multiplier 3 --suite unit --suite integration || rc=$?
python3 scripts/test-summary.py "$BUILD/meson-logs/testlog.json" \
    "$SANITIZE_BUILD/meson-logs/testlog.json" || rc=1
exit $rc
