#!/bin/sh
# The tiny guest the other system tests rely on: it builds from Debian
# packages, boots under QEMU on libvirtd, answers its agent, runs commands
# and shuts down through the agent and through ACPI.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
dir=$(nl_guest_dir)
expect "the tiny guest boots and its agent runs commands and shuts it down" \
    bash "$NESTLAB_SOURCE/tests/guest/check-boot.sh" --no-build "$dir"
expect "the tiny guest shuts down on the ACPI power button" \
    bash "$NESTLAB_SOURCE/tests/guest/check-boot.sh" --no-build --acpi "$dir"
