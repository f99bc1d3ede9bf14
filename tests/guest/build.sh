#!/bin/bash
# Builds nestlab's tiny test guest from Debian packages into DIR:
#
#   DIR/vmlinuz       Debian's cloud kernel (linux-image-*-cloud-amd64)
#   DIR/initrd.img    gzip'd cpio (newc): busybox-static, that kernel's virtio
#                     modules, qemu-ga with its shared libraries, /init
#   DIR/golden.qcow2  64 MiB qcow2 with an ext4 file system (label
#                     nestlab-data) holding /nestlab-golden; the guest mounts
#                     it at /data
#   DIR/guest.info    what was built (shell variables), written last
#
# Packages are fetched with `apt-get download` into
# ${NESTLAB_CACHE:-/var/cache/nestlab}/guest and unpacked with dpkg-deb:
# nothing is installed on the host. Re-running with an up-to-date DIR (all
# outputs newer than this script and tests/guest/init) does nothing.
#
# usage: build.sh [--force] DIR
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=${0##*/}

die() { echo "$prog: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

usage() {
    echo "usage: $prog [--force] DIR"
    echo "Builds the tiny test guest (vmlinuz, initrd.img, golden.qcow2) into DIR."
}

force=0
dir=
while [ $# -gt 0 ]; do
    case "$1" in
        -f | --force) force=1 ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; exit 2 ;;
        *) [ -z "$dir" ] || { usage >&2; exit 2; }; dir=$1 ;;
    esac
    shift
done
[ -n "$dir" ] || { usage >&2; exit 2; }

mkdir -p "$dir"
DIR=$(cd "$dir" && pwd)
CACHE=${NESTLAB_CACHE:-/var/cache/nestlab}/guest
SOURCES=("$here/build.sh" "$here/init")
OUTPUTS=(vmlinuz initrd.img golden.qcow2 guest.info)

# Host tools (see PACKAGES in scripts/setup.sh).
for tool in apt-get apt-cache dpkg-deb cpio gzip xz zstd mke2fs qemu-img flock ldd; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "missing host tool '$tool' (run scripts/setup.sh)"
done

# What the guest is built from, by content: a guest another tree built
# (another checkout, another branch) is rebuilt when its sources differ,
# however new its files are.
SOURCES_SHA=$(cat "${SOURCES[@]}" | sha256sum | cut -d' ' -f1)

up_to_date() {
    local out
    for out in "${OUTPUTS[@]}"; do
        [ -f "$DIR/$out" ] || return 1
    done
    grep -qx "SOURCES_SHA='$SOURCES_SHA'" "$DIR/guest.info"
}

summary() {
    # shellcheck disable=SC1091,SC2153
    (. "$DIR/guest.info" &&
        echo "guest: $1 $DIR: kernel $KERNEL_VERSION, initrd.img $((INITRD_BYTES / 1024)) KiB, qemu-ga $QGA_VERSION, golden.qcow2 ${GOLDEN_MIB} MiB ext4 ($2)")
}

start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }'; }

# One builder per DIR at a time; the second one waits and finds DIR ready.
exec 9>"$DIR/.build.lock"
flock 9
if [ "$force" = 0 ] && up_to_date; then
    summary "up to date in" "$(elapsed)"
    exit 0
fi

mkdir -p "$CACHE/debs"
exec 8>"$CACHE/.lock"
flock 8

work=$(mktemp -d "${TMPDIR:-/tmp}/nestlab-guest.XXXXXX")
trap 'rm -rf "$work"; rm -f "$DIR"/.new.*' EXIT

# candidates PKG...: fills candidate[PKG] with apt's candidate versions, in
# one apt-cache call (each call takes most of a second).
declare -A candidate=()
candidates() {
    local pkg ver
    while read -r pkg ver; do
        candidate[$pkg]=$ver
    done < <(apt-cache policy "$@" 2>/dev/null | awk '
        /^[^ ].*:$/ { sub(/:$/, ""); pkg = $0 }
        /^ *Candidate:/ { print pkg, $2 }')
}

# fetch PKG: prints the path of PKG's candidate .deb in the cache,
# downloading it if needed. Offline, falls back to the newest cached one.
fetch() {
    local pkg=$1 ver esc deb tmp
    [ -n "${candidate[$pkg]+set}" ] || candidates "$pkg"
    ver=${candidate[$pkg]:-}
    if [ -n "$ver" ] && [ "$ver" != "(none)" ]; then
        esc=${ver//:/%3a}
        for deb in "$CACHE/debs/${pkg}_${esc}"_*.deb; do
            [ -f "$deb" ] && { echo "$deb"; return 0; }
        done
        tmp=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
        if (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver") >&2; then
            for deb in "$tmp/${pkg}_${esc}"_*.deb; do
                if [ -f "$deb" ] && dpkg-deb -f "$deb" Package >/dev/null; then
                    mv "$deb" "$CACHE/debs/"
                    rm -rf "$tmp"
                    echo "$CACHE/debs/${deb##*/}"
                    return 0
                fi
            done
        fi
        rm -rf "$tmp"
        note "could not download $pkg $ver; trying the cache"
    else
        note "apt knows no candidate for $pkg (apt-get update?); trying the cache"
    fi
    deb=$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -n 1)
    [ -n "$deb" ] || die "cannot get package $pkg and none is cached in $CACHE/debs (apt-get update?)"
    note "using cached ${deb##*/}"
    echo "$deb"
}

deb_version() { dpkg-deb -f "$1" Version; }

# --- Kernel --------------------------------------------------------------
kpkg=${NESTLAB_GUEST_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
    kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: *\(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
    if [ -z "$kpkg" ]; then
        # Offline without apt lists: the newest cached cloud kernel.
        kpkg=$(find "$CACHE/debs" -maxdepth 1 -name 'linux-image-*-cloud-amd64_*.deb' |
            sed 's|.*/||; s|_.*||' | grep -v '^linux-image-cloud-amd64$' | sort -V | tail -n 1)
    fi
    [ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-amd64 to a kernel package"
fi
candidates "$kpkg" qemu-guest-agent busybox-static
kdeb=$(fetch "$kpkg")
qdeb=$(fetch qemu-guest-agent)

mkdir -p "$work/kernel" "$work/qga"
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$qdeb" "$work/qga"

kver=$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -n 1)
[ -n "$kver" ] || die "$kdeb has no /lib/modules/<version>"
[ -f "$work/kernel/boot/vmlinuz-$kver" ] || die "$kdeb has no /boot/vmlinuz-$kver"
kconfig=$work/kernel/boot/config-$kver
moddir=$work/kernel/lib/modules/$kver

# --- Root file system of the initramfs -----------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,data,root,var/log,lib/modules/"$kver"}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
ln -s ../run "$root/var/run"
ln -s /proc/self/mounts "$root/etc/mtab"

# busybox-static: the host's (scripts/setup.sh installs it), else fetched.
busybox=/bin/busybox
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
    ldd "$busybox" >/dev/null 2>&1; then
    # (ldd fails on a static binary)
    bdeb=$(fetch busybox-static)
    mkdir -p "$work/busybox"
    dpkg-deb -x "$bdeb" "$work/busybox"
    busybox=$work/busybox/bin/busybox
    bb_version=$(deb_version "$bdeb")
else
    bb_version=$(dpkg-query -W -f='${Version}' busybox-static)
fi
install -m 0755 "$busybox" "$root/bin/busybox"
# /init runs "busybox --install -s" (the other applet links) first thing.
ln -s busybox "$root/bin/sh"

# Kernel modules: decompressed (busybox insmod loads plain .ko only), with
# their dependencies, listed deps-first in /lib/modules/load-order.
declare -A have_mod=()
load_order=()

all_mods=$(find "$moddir" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
find_mod() { # NAME -> path of NAME.ko[.xz|.zst|.gz], trying - and _ spellings
    local n
    for n in "$1" "${1//_/-}" "${1//-/_}"; do
        grep -E -m 1 "/$n\.ko(\.xz|\.zst|\.gz)?\$" <<<"$all_mods" && return 0
    done
    return 0
}

is_builtin() { # NAME -> true when the kernel has it built in
    local n
    for n in "$1" "${1//_/-}" "${1//-/_}"; do
        grep -q "/$n\.ko\$" "$moddir/modules.builtin" 2>/dev/null && return 0
    done
    return 1
}

add_mod() { # NAME required|optional
    local name=$1 need=$2 src base out dep
    [ -z "${have_mod[$name]:-}" ] || return 0
    if is_builtin "$name"; then have_mod[$name]=builtin; return 0; fi
    src=$(find_mod "$name")
    if [ -z "$src" ]; then
        [ "$need" = optional ] && { note "no module $name in $kver (skipped)"; return 0; }
        die "kernel $kver has no module $name"
    fi
    base=${src##*/}
    base=${base%%.ko*}
    have_mod[$name]=1
    have_mod[$base]=1
    out=$root/lib/modules/$kver/$base.ko
    case "$src" in
        *.ko.xz) xz -dc "$src" >"$out" ;;
        *.ko.zst) zstd -qdc "$src" >"$out" ;;
        *.ko.gz) gzip -dc "$src" >"$out" ;;
        *) cp "$src" "$out" ;;
    esac
    for dep in $(tr '\0' '\n' <"$out" | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_mod "$dep" required
    done
    # Soft pre-dependencies (e.g. crc32c for ext4) are best effort.
    for dep in $(tr '\0' '\n' <"$out" | sed -n 's/^softdep=.*pre: *//p' | sed 's/ post:.*//'); do
        add_mod "$dep" optional
    done
    load_order+=("$base")
}

for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
    virtio_console virtio_blk failover net_failover virtio_net; do
    add_mod "$m" required
done
# The config disk (cloud-init NoCloud, label cidata): a CD-ROM on
# virtio-scsi, as this kernel has no AHCI driver for a SATA one.
for m in virtio_scsi sr_mod cdrom isofs; do
    add_mod "$m" required
done
# ACPI power button (for acpid), balloon and RNG: nice to have.
for m in button evdev virtio_balloon virtio_rng; do
    add_mod "$m" optional
done
# /data is ext4; Debian's cloud kernel has it built in, but be ready for a
# modular one.
if ! grep -q '^CONFIG_EXT4_FS=y' "$kconfig"; then
    add_mod ext4 required
    add_mod crc32c_generic optional
fi
printf '%s\n' "${load_order[@]}" >"$root/lib/modules/load-order"

# qemu-ga and every shared library it links, plus the dynamic loader.
install -D -m 0755 "$work/qga/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
libs=$(ldd "$work/qga/usr/sbin/qemu-ga") || die "ldd qemu-ga failed"
if echo "$libs" | grep -q 'not found'; then
    die "qemu-ga needs libraries missing on this host: $(echo "$libs" | grep 'not found' | tr -s ' \t\n' ' ')"
fi
# glibc dlopens libgcc_s when a thread is cancelled; it is small.
gcc_s=$(ldconfig -p 2>/dev/null | sed -n 's/^.*libgcc_s\.so\.1 (libc6,x86-64) => //p' | head -n 1)
for lib in $(echo "$libs" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }') $gcc_s; do
    [ -e "$root$lib" ] && continue
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
done

# /init and its helpers.
install -m 0755 "$here/init" "$root/init"

cat >"$root/etc/inittab" <<'EOF'
# busybox init, started by /init once the system is set up.
::respawn:/sbin/nestlab-qga
::respawn:/sbin/nestlab-console
::ctrlaltdel:/sbin/reboot
::shutdown:/sbin/nestlab-stop
::restart:/sbin/init
EOF

cat >"$root/sbin/nestlab-vports" <<'EOF'
#!/bin/sh
# Links /dev/virtio-ports/<name> to its vportNpM device (udev does it elsewhere).
mkdir -p /dev/virtio-ports
for port in /sys/class/virtio-ports/*; do
    [ -r "$port/name" ] || continue
    name=$(cat "$port/name" 2>/dev/null)
    [ -n "$name" ] || continue
    [ -L "/dev/virtio-ports/$name" ] || ln -sfn "../${port##*/}" "/dev/virtio-ports/$name"
done
EOF

cat >"$root/sbin/nestlab-qga" <<'EOF'
#!/bin/sh
# Runs qemu-guest-agent on its virtio-serial port once the port shows up
# (port names reach the guest asynchronously). Respawned by init.
dev=/dev/virtio-ports/org.qemu.guest_agent.0
i=0
while :; do
    /sbin/nestlab-vports
    [ -e "$dev" ] && break
    i=$((i + 1))
    if [ "$i" -lt 100 ]; then sleep 0.1; else sleep 2; fi
done
/usr/sbin/qemu-ga -m virtio-serial -p "$dev"
sleep 1
EOF

cat >"$root/sbin/nestlab-console" <<'EOF'
#!/bin/sh
# A root shell on the console (virsh console), for debugging. Respawned by init.
setsid cttyhack sh -l
sleep 2
EOF

cat >"$root/sbin/nestlab-stop" <<'EOF'
#!/bin/sh
# busybox init's shutdown action: stop everything, then unmount /data cleanly.
kill -TERM -1 2>/dev/null
sleep 0.3
kill -KILL -1 2>/dev/null
sync
umount /data 2>/dev/null || mount -o remount,ro /data 2>/dev/null
sync
EOF

cat >"$root/sbin/shutdown" <<'EOF'
#!/bin/sh
# busybox has no shutdown applet. qemu-ga's guest-shutdown runs
# "shutdown -P|-H|-r +0 MESSAGE" and waits for it: answer at once, then have
# busybox init stop the system (it unmounts /data), forcing it if init hangs.
action=poweroff
for arg in "$@"; do
    case "$arg" in
        -r) action=reboot ;;
        -H) action=halt ;;
        -h | -P) action=poweroff ;;
        -c) exit 0 ;;
    esac
done
(
    sleep 0.5
    sync
    "$action"
    sleep 20
    sync
    "$action" -f
) </dev/null >/dev/null 2>&1 &
exit 0
EOF

mkdir -p "$root/etc/acpi/PWRF"
cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# busybox acpid runs this on the ACPI power button (virsh shutdown --mode acpi).
exec poweroff
EOF

cat >"$root/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# busybox udhcpc hook: configures the interface from the lease.
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound | renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
        if [ -n "${router:-}" ]; then
            while ip route del default dev "$interface" 2>/dev/null; do :; done
            for r in $router; do
                ip route add default via "$r" dev "$interface" && break
            done
        fi
        : >/etc/resolv.conf
        [ -n "${domain:-}" ] && echo "search $domain" >>/etc/resolv.conf
        for d in ${dns:-}; do echo "nameserver $d" >>/etc/resolv.conf; done
        ;;
esac
exit 0
EOF

chmod 0755 "$root"/sbin/nestlab-* "$root/sbin/shutdown" \
    "$root/etc/acpi/PWRF/00000080" "$root/etc/udhcpc.script"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
# root's password hash comes from the config disk's user-data (chpasswd -e).
cat >"$root/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 0600 "$root/etc/shadow"
cat >"$root/etc/group" <<'EOF'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOF
cat >"$root/etc/profile" <<'EOF'
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
export PS1='\h:\w\$ '
EOF
: >"$root/etc/fstab"
qga_version=$(deb_version "$qdeb")
kpkg_version=$(deb_version "$kdeb")
cat >"$root/etc/os-release" <<EOF
NAME="nestlab test guest"
ID=nestlab-guest
VERSION_ID=1
PRETTY_NAME="nestlab tiny test guest (busybox, Debian kernel $kver)"
EOF
cat >"$root/etc/nestlab-guest" <<EOF
nestlab tiny test guest
kernel: $kpkg $kpkg_version ($kver)
qemu-guest-agent: $qga_version
busybox-static: $bb_version
EOF

# --- Outputs (written next to their final names, then renamed) -----------
install -m 0644 "$work/kernel/boot/vmlinuz-$kver" "$DIR/.new.vmlinuz"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n >"$DIR/.new.initrd.img"

golden_mib=64
mkdir -p "$work/data"
echo "nestlab golden disk" >"$work/data/nestlab-golden"
truncate -s "${golden_mib}M" "$work/golden.raw"
mke2fs -q -F -t ext4 -L nestlab-data -m 0 -d "$work/data" "$work/golden.raw"
qemu-img convert -f raw -O qcow2 "$work/golden.raw" "$DIR/.new.golden.qcow2"
chmod 0644 "$DIR/.new.golden.qcow2"

initrd_bytes=$(stat -c %s "$DIR/.new.initrd.img")
{
    echo "# nestlab tiny test guest, built by tests/guest/build.sh"
    echo "KERNEL_VERSION='$kver'"
    echo "KERNEL_PACKAGE='$kpkg'"
    echo "KERNEL_PACKAGE_VERSION='$kpkg_version'"
    echo "QGA_VERSION='$qga_version'"
    echo "BUSYBOX_VERSION='$bb_version'"
    echo "MODULES='${load_order[*]}'"
    echo "INITRD_BYTES=$initrd_bytes"
    echo "GOLDEN_MIB=$golden_mib"
    echo "GOLDEN_MARKER='/data/nestlab-golden'"
    echo "CMDLINE='console=ttyS0 quiet'"
    echo "BUILT='$(date -u +%Y-%m-%dT%H:%M:%SZ)'"
    echo "SOURCES_SHA='$SOURCES_SHA'"
} >"$DIR/.new.guest.info"

for out in "${OUTPUTS[@]}"; do
    mv -f "$DIR/.new.$out" "$DIR/$out"
done
summary "built" "$(elapsed)"
