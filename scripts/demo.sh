#!/bin/sh
# The main job, on libvirt's embedded test driver: installs what is missing,
# builds nestlab, and brings the shipped SCVMM demo lab up (then shows its status).
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh
BUILD=${NESTLAB_BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD"
fi
ninja -C "$BUILD"

"$BUILD/src/cli/nestlab" validate templates/scvmm-demo.xml
"$BUILD/src/cli/nestlab" -c test:///default up --create-missing-images templates/scvmm-demo.xml
