#!/bin/sh
# The main job, on libvirt's embedded test driver: installs what is missing,
# builds nestlab, and builds the shipped SCVMM demo lab.
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh
BUILD=${NESTLAB_BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD"
fi
ninja -C "$BUILD"

"$BUILD/src/cli/nestlab" validate templates/scvmm-demo.xml
"$BUILD/src/cli/nestlab" -c test:///default render templates/scvmm-demo.xml
