#!/bin/sh
# A second libvirt host on this machine, for system tests of host rollouts
# (drain, update, reboot, restore) and live migration between two hosts.
#
#   second-host.sh start DIR            start a host whose state lives in DIR
#   second-host.sh exec DIR CMD [ARG..] run CMD on that host (exit status passed through)
#   second-host.sh boot-id DIR          print the host's current boot id
#   second-host.sh reboot DIR [--down SECONDS]
#                                       power-cycle it (a restart of its libvirtd
#                                       with its QEMUs killed, see below)
#   second-host.sh stop DIR             stop everything it started, remove DIR
#
# The "host" is a libvirtd (with its own virtlogd) in a network namespace
# joined to this machine by a veth pair, 10.254.77.1/30 here and
# 10.254.77.2/30 inside (NL_SECOND_HOST_NET=A.B.C picks A.B.C.1/.2 instead;
# two hosts need two nets), and in its own mount and UTS namespaces: host
# name nestlab-host2, a fresh tmpfs on /run at every boot, and private copies
# of /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt
# kept in DIR (the main host's domains, networks, pools and secrets are not
# copied). Its /etc/hosts names it, and it has no name server: libvirtd
# looks its own name up at every domain start and migration, and an
# unreachable server would cost 10 s each time. Its libvirtd listens on plain TCP without authentication
# (qemu+tcp://10.254.77.2/system) and has its own host UUID and a `default`
# directory pool in DIR/pool. A guest whose disk both hosts can read moves
# between it and qemu:///system with `virsh migrate --live --unsafe ...
# --migrateuri tcp://ADDRESS-OF-THE-DESTINATION` (MIGRATE_URI into it,
# HOST_MIGRATE_URI out of it). Its QEMUs run without cgroups, so they cannot
# clash with the main libvirtd's, whose domain IDs count from 1 as well.
#
# start writes DIR/env (shell variables URI, ADDR, HOST_ADDR, NETNS, VETH,
# MIGRATE_URI, HOST_MIGRATE_URI, HOST_UUID, HOST_NAME) and DIR/boot-id.
#
# A "reboot" is not a kernel reboot: it is a power cycle as the host's guests
# see it. Every QEMU that host's libvirtd started is killed with SIGKILL, its
# libvirtd and virtlogd (and anything else running on that host) are stopped,
# /run starts empty again, a new boot id is written and the daemons start
# again. Persistent domain definitions and managed-save images survive (they
# live in DIR); running guests are shut off, as after a power cut. Without
# --down it returns when libvirt answers again. With --down N it returns
# once the host is down, and a detached process (its own session: killing
# the caller's process group does not stop it) starts the host N seconds
# later, the way `ssh host reboot` returns while the host goes down. While
# the host is down, boot-id fails and `exec` still works (the namespaces are
# held by a `sleep infinity` whose pid is in DIR/holder.pid).
#
# Inside the host, /proc/sys/kernel/random/boot_id reads the host's boot id,
# so `exec DIR cat /proc/sys/kernel/random/boot_id` sees a reboot the way a
# command over ssh would. `exec` runs CMD in / with this machine's
# environment.
#
# stop kills every process in the host's network namespace (QEMUs,
# libvirtd, virtlogd, the holder, anything run with exec) and a pending
# delayed start, deletes the veth pair and the namespace and removes DIR. It
# is idempotent, works after a half-failed start and never fails.
#
# Needs root, ip, unshare, nsenter, setsid, flock, libvirtd, virtlogd and
# virsh; fails loudly (exit 1) without them.
set -eu

prog=second-host.sh
self=$(cd "$(dirname "$0")" && pwd)/${0##*/}
HOST_NAME=nestlab-host2
MARK=.nestlab-second-host
BOOT_ID_PATH=/proc/sys/kernel/random/boot_id

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

usage() {
    echo "usage:" >&2
    sed -n '5,11s/^#//p' "$self" >&2
    exit 2
}

need_tools() {
    [ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces and starts libvirtd)"
    for tool in ip unshare nsenter setsid flock sha256sum mountpoint taskset libvirtd virtlogd virsh; do
        command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing (run scripts/setup.sh)"
    done
}

# Sets DIR (absolute, no trailing slash), NETNS and VETH (the host side of
# the pair; the other side is eth0 inside) from $1. The names come from a
# hash of DIR so that two hosts can coexist; env's values win, so a stop
# finds what start made even if the name scheme changes.
set_dir() {
    case "$1" in
        /*) DIR=$1 ;;
        *) DIR=$PWD/$1 ;;
    esac
    while :; do
        case "$DIR" in
            ?*/) DIR=${DIR%/} ;;
            *) break ;;
        esac
    done
    case "$DIR" in
        / | /run | /run/* | /var/run | /var/run/* | /etc/libvirt* | /var/lib/libvirt* | \
            /var/cache/libvirt* | /var/log/libvirt*)
            die "DIR must not be $DIR: the host mounts its own copies over /run and libvirt's folders" ;;
        *[\'\"\\\$\`\ ]*)
            die "DIR must not contain quotes, backslashes, dollars or spaces: $DIR" ;;
    esac
    NETNS=nlh-$(printf '%s' "$DIR" | sha256sum | cut -c1-8)
    VETH=${NETNS}h
    if [ -f "$DIR/env" ]; then
        NETNS=$(sed -n "s/^NETNS='\(.*\)'\$/\1/p" "$DIR/env")
        VETH=$(sed -n "s/^VETH='\(.*\)'\$/\1/p" "$DIR/env")
    fi
}

set_net() {
    NET=${NL_SECOND_HOST_NET:-10.254.77}
    case "$NET" in
        *[!0-9.]* | *..* | .* | *.) die "NL_SECOND_HOST_NET must look like 10.254.77 (three numbers), not '$NET'" ;;
    esac
    [ "$(printf '%s' "$NET" | tr -cd . | wc -c)" = 2 ] ||
        die "NL_SECOND_HOST_NET must look like 10.254.77 (three numbers), not '$NET'"
    HOST_ADDR=$NET.1
    ADDR=$NET.2
    URI=qemu+tcp://$ADDR/system
}

# The holder's pid if it is alive and still in our namespace, else nothing.
holder_pid() {
    [ -f "$DIR/holder.pid" ] || return 0
    pid=$(cat "$DIR/holder.pid" 2>/dev/null) || return 0
    case "$pid" in '' | *[!0-9]*) return 0 ;; esac
    [ -e "/run/netns/$NETNS" ] || return 0
    [ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$NETNS")" ] || return 0
    printf '%s\n' "$pid"
}

# Runs "$@" inside the host's network, mount and UTS namespaces, in /.
in_host() {
    hp=$(holder_pid)
    [ -n "$hp" ] || die "the host of $DIR is not running (no holder process; start it first)"
    nsenter -t "$hp" -n -m -u --wd=/ -- "$@"
}

# Takes DIR/lock on fd 9 (start, boots and power-offs never overlap). Every
# long-lived process is started with 9>&- so that none of them holds it.
lock() {
    exec 9>>"$DIR/lock"
    flock -w "${1:-120}" 9 || die "$DIR is busy (another start, reboot or stop holds DIR/lock)"
}

answers() {
    virsh -q -c "$URI" version >/dev/null 2>&1
}

wait_answer() {
    limit=$1
    i=0
    until answers; do
        i=$((i + 1))
        if [ "$i" -gt $((limit * 5)) ]; then
            note "libvirtd of $DIR did not answer on $URI within ${limit} s; the end of its log:"
            tail -n 20 "$DIR/log/libvirtd.log" >&2 2>/dev/null || true
            die "the host of $DIR does not answer"
        fi
        sleep 0.2
    done
}

# Boots the host: a fresh /run with the boot id, then virtlogd and libvirtd.
# Called with the lock held.
boot() {
    [ ! -e "$DIR/stopping" ] || die "$DIR is being stopped"
    boot_id=$(cat /proc/sys/kernel/random/uuid)
    # libvirtd runs on one CPU, always the same: CPUID answers differ
    # between the CPUs here, and libvirtd probes QEMU again (8 s) when they
    # differ from those its cached capabilities were probed with, so half
    # the boots took 8 s longer. Its QEMUs may run on every CPU: libvirt
    # resets their affinity.
    cpu=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*\([0-9]*\).*/\1/p' /proc/self/status)
    # The boot id is read through /proc inside the host, like a real one.
    # shellcheck disable=SC2016
    in_host sh -c '
        set -e
        while mountpoint -q "$1"; do umount "$1"; done
        if [ -e /run/'"$MARK"' ]; then umount -l /run; fi
        mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
        : >/run/'"$MARK"'
        mkdir -p /run/libvirt /run/lock
        printf "%s\n" "$2" >/run/nestlab-boot-id
        chmod 0444 /run/nestlab-boot-id
        mount --bind /run/nestlab-boot-id "$1"
        virtlogd -d
        taskset -c "$3" libvirtd --listen -d
    ' boot "$BOOT_ID_PATH" "$boot_id" "${cpu:-0}" </dev/null >>"$DIR/log/boot.log" 2>&1 9>&- ||
        die "could not start virtlogd and libvirtd in the host of $DIR (see $DIR/log/boot.log)"
    printf '%s\n' "$boot_id" >"$DIR/boot-id.new"
    mv -f "$DIR/boot-id.new" "$DIR/boot-id"
}

# The pids in the host's network namespace but the holder's (and ours).
host_pids() {
    [ -e "/run/netns/$NETNS" ] || return 0
    hp=$(holder_pid)
    ip netns pids "$NETNS" 2>/dev/null | while read -r p; do
        [ "$p" = "$hp" ] || [ "$p" = "$$" ] || printf '%s\n' "$p"
    done
}

is_qemu() {
    case "$(cat "/proc/$1/comm" 2>/dev/null)" in qemu-system-* | qemu-kvm) return 0 ;; esac
    return 1
}

# Power off: SIGKILL to every QEMU of the host (the guests lose power), then
# SIGTERM to the rest (libvirtd, virtlogd, commands run there), SIGKILL
# after 10 s. The boot id goes with the host.
power_off() {
    rm -f "$DIR/boot-id"
    pids=$(host_pids)
    for p in $pids; do
        if is_qemu "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
    done
    for p in $pids; do
        kill -TERM "$p" 2>/dev/null || true
    done
    i=0
    while [ -n "$(host_pids)" ] && [ "$i" -lt 50 ]; do
        sleep 0.2
        i=$((i + 1))
    done
    for p in $(host_pids); do
        note "killing $(cat "/proc/$p/comm" 2>/dev/null || echo "$p") (pid $p), still running 10 s after SIGTERM"
        kill -KILL "$p" 2>/dev/null || true
    done
    i=0
    while [ -n "$(host_pids)" ] && [ "$i" -lt 25 ]; do
        sleep 0.2
        i=$((i + 1))
    done
}

conf_files() {
    # Only settings that differ from libvirt's defaults (Debian's files are
    # all comments); the rest of /etc/libvirt is copied as it is.
    host_uuid=$(cat /proc/sys/kernel/random/uuid)
    cat >"$DIR/etc/libvirtd.conf" <<EOF
# libvirtd of the second test host (tests/system/tools/second-host.sh)
listen_tcp = 1
listen_tls = 0
listen_addr = "$ADDR"
auth_tcp = "none"
host_uuid = "$host_uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cat >"$DIR/etc/qemu.conf" <<EOF
# QEMU driver of the second test host (tests/system/tools/second-host.sh)
# Migrations into this host go to its own address, not its host name.
migration_host = "$ADDR"
migration_address = "$ADDR"
# No cgroups: both libvirtds name a domain's cgroup after its ID and name
# on this machine's one cgroup tree, and both count IDs from 1, so a guest
# migrating between them could meet a cgroup of its own name.
cgroup_controllers = [ ]
EOF
    chmod 0600 "$DIR/etc/qemu.conf"
    printf '%s\n' "$host_uuid"
}

# Private copies of libvirt's folders: configuration without the main
# host's domains, networks, pools and secrets; libvirt's state folders
# empty, with the owners and modes the package gave them.
make_tree() {
    mkdir -p "$DIR/etc" "$DIR/lib" "$DIR/cache" "$DIR/log" "$DIR/pool"
    for f in /etc/libvirt/*; do
        [ -f "$f" ] && cp -p "$f" "$DIR/etc/"
    done
    cp -a /etc/libvirt/nwfilter "$DIR/etc/" 2>/dev/null || mkdir -p "$DIR/etc/nwfilter"
    mkdir -p "$DIR/etc/qemu/networks/autostart" "$DIR/etc/qemu/autostart" \
        "$DIR/etc/storage/autostart" "$DIR/etc/hooks" "$DIR/etc/secrets"
    chmod 0700 "$DIR/etc/secrets"
    for top in /var/lib/libvirt:lib /var/cache/libvirt:cache /var/log/libvirt:log; do
        src=${top%%:*}
        dst=$DIR/${top#*:}
        [ -d "$src" ] || continue
        chown --reference="$src" "$dst"
        chmod --reference="$src" "$dst"
        (cd "$src" && find . -mindepth 1 -maxdepth 3 -type d \
            ! -path './images/*' ! -path './dnsmasq/*' ! -path './qemu/domain-*' \
            ! -path './qemu/channel/target/*' ! -path './qemu/capabilities*') |
            while read -r d; do
                mkdir -p "$dst/$d"
                chown --reference="$src/$d" "$dst/$d"
                chmod --reference="$src/$d" "$dst/$d"
            done
    done
}

cmd_start() {
    need_tools
    set_dir "$1"
    set_net
    if [ -e "$DIR" ] && [ ! -e "$DIR/$MARK" ] && [ -n "$(ls -A "$DIR")" ]; then
        die "$DIR exists and is not a second host's folder; give an empty or new folder"
    fi
    mkdir -p "$DIR"
    : >"$DIR/$MARK"
    if [ -n "$(holder_pid)" ]; then
        die "the host of $DIR is already running (stop it first)"
    fi
    if ip netns list | grep -q "^$NETNS\\b" || ip link show "$VETH" >/dev/null 2>&1; then
        die "network namespace $NETNS or link $VETH already exists: a leftover host of $DIR? ($prog stop $DIR removes it)"
    fi
    used=$(ip -4 -o addr show | awk -v a="$HOST_ADDR" -v b="$ADDR" '
        { split($4, p, "/"); if (p[1] == a || p[1] == b) print $2 ": " $4 }')
    if [ -n "$used" ]; then
        die "address $HOST_ADDR or $ADDR is already in use on this machine ($used): another second host? Set NL_SECOND_HOST_NET to a free /30, e.g. 10.254.78"
    fi
    lock 120
    chmod 0755 "$DIR"
    rm -f "$DIR/stopping"
    make_tree
    host_uuid=$(conf_files)

    ip netns add "$NETNS" || die "cannot create network namespace $NETNS"
    ip link add "$VETH" type veth peer name "${NETNS}g" netns "$NETNS" ||
        die "cannot create the veth pair $VETH"
    ip -n "$NETNS" link set "${NETNS}g" name eth0
    ip addr add "$HOST_ADDR/30" dev "$VETH"
    ip link set "$VETH" up
    ip -n "$NETNS" addr add "$ADDR/30" dev eth0
    ip -n "$NETNS" link set eth0 up
    ip -n "$NETNS" link set lo up
    ip -n "$NETNS" route add default via "$HOST_ADDR"

    # Its own name resolves at once (libvirtd looks it up at every domain
    # start and migration); other names fail at once, as nothing outside
    # this machine is reachable from there.
    { cat /etc/hosts; printf '%s %s\n' "$ADDR" "$HOST_NAME"; } >"$DIR/hosts"
    echo "# the second test host reaches no name server" >"$DIR/resolv.conf"
    chmod 0644 "$DIR/hosts" "$DIR/resolv.conf"

    # The holder: owns the mount and UTS namespaces for the host's whole
    # life, across reboots, in a session of its own.
    rm -f "$DIR/holder.pid"
    # shellcheck disable=SC2016
    setsid ip netns exec "$NETNS" unshare --mount --uts --propagation private sh -c '
        set -e
        dir=$1
        mount --make-rprivate /
        hostname "$2"
        mount --bind "$dir/etc" /etc/libvirt
        mount --bind "$dir/lib" /var/lib/libvirt
        mkdir -p /var/cache/libvirt /var/log/libvirt
        mount --bind "$dir/cache" /var/cache/libvirt
        mount --bind "$dir/log" /var/log/libvirt
        mount --bind "$dir/hosts" /etc/hosts
        mount --bind "$dir/resolv.conf" /etc/resolv.conf
        cd /
        echo $$ >"$dir/holder.pid.new"
        mv "$dir/holder.pid.new" "$dir/holder.pid"
        exec sleep infinity
    ' holder "$DIR" "$HOST_NAME" </dev/null >"$DIR/log/holder.log" 2>&1 9>&- &
    i=0
    while [ -z "$(holder_pid)" ]; do
        i=$((i + 1))
        if [ "$i" -gt 50 ]; then
            cat "$DIR/log/holder.log" >&2 2>/dev/null || true
            die "the namespaces of $DIR did not come up"
        fi
        sleep 0.1
    done

    cat >"$DIR/env" <<EOF
URI='$URI'
ADDR='$ADDR'
HOST_ADDR='$HOST_ADDR'
NETNS='$NETNS'
VETH='$VETH'
MIGRATE_URI='tcp://$ADDR'
HOST_MIGRATE_URI='tcp://$HOST_ADDR'
HOST_UUID='$host_uuid'
HOST_NAME='$HOST_NAME'
EOF
    boot
    wait_answer 30
    if ! { virsh -q -c "$URI" pool-define-as default dir --target "$DIR/pool" >/dev/null &&
        virsh -q -c "$URI" pool-build default >/dev/null &&
        virsh -q -c "$URI" pool-start default >/dev/null &&
        virsh -q -c "$URI" pool-autostart default >/dev/null; }; then
        die "cannot make the default storage pool on $URI"
    fi
    note "$URI is up ($HOST_NAME, host UUID $host_uuid, netns $NETNS)"
}

cmd_exec() {
    set_dir "$1"
    shift
    [ $# -gt 0 ] || usage
    need_tools
    hp=$(holder_pid)
    [ -n "$hp" ] || die "the host of $DIR is not running"
    exec nsenter -t "$hp" -n -m -u --wd=/ -- "$@"
}

cmd_boot_id() {
    set_dir "$1"
    [ -f "$DIR/env" ] || die "$DIR holds no second host"
    [ -s "$DIR/boot-id" ] || die "the host of $DIR is down"
    cat "$DIR/boot-id"
}

cmd_reboot() {
    set_dir "$1"
    shift
    down=
    while [ $# -gt 0 ]; do
        case "$1" in
            --down) [ $# -ge 2 ] || usage; down=$2; shift ;;
            --down=*) down=${1#--down=} ;;
            *) usage ;;
        esac
        shift
    done
    case "$down" in
        *[!0-9]*) die "--down takes whole seconds, not '$down'" ;;
    esac
    need_tools
    set_net_from_env
    [ -n "$(holder_pid)" ] || die "the host of $DIR is not running"
    lock 120
    kill_pending
    power_off
    if [ -z "$down" ]; then
        boot
        wait_answer 60
        return 0
    fi
    rm -f "$DIR/pending.pid"
    setsid sh "$self" _boot-later "$DIR" "$down" </dev/null >>"$DIR/log/boot.log" 2>&1 9>&- &
    i=0
    while [ ! -s "$DIR/pending.pid" ]; do
        i=$((i + 1))
        [ "$i" -lt 50 ] || die "the delayed start of $DIR did not begin"
        sleep 0.1
    done
}

set_net_from_env() {
    [ -f "$DIR/env" ] || die "$DIR holds no second host"
    URI=$(sed -n "s/^URI='\(.*\)'\$/\1/p" "$DIR/env")
}

# The detached half of reboot --down: a session leader of its own, so the
# caller's death does not stop it; stop kills its process group.
cmd_boot_later() {
    set_dir "$1"
    set_net_from_env
    echo $$ >"$DIR/pending.pid.new"
    mv -f "$DIR/pending.pid.new" "$DIR/pending.pid"
    sleep "$2"
    lock 120
    [ ! -e "$DIR/stopping" ] || exit 0
    boot
    rm -f "$DIR/pending.pid"
    wait_answer 60
}

kill_pending() {
    [ -f "$DIR/pending.pid" ] || return 0
    p=$(cat "$DIR/pending.pid" 2>/dev/null || true)
    case "$p" in '' | *[!0-9]*) ;; *)
        # Only if it is still that process (a session leader running us).
        if [ "$(cut -d' ' -f6 "/proc/$p/stat" 2>/dev/null)" = "$p" ] &&
            grep -q "_boot-later" "/proc/$p/cmdline" 2>/dev/null; then
            kill -KILL -- "-$p" 2>/dev/null || true
        fi
        ;;
    esac
    rm -f "$DIR/pending.pid"
}

cmd_stop() {
    set +e
    set_dir "$1"
    if [ -d "$DIR" ] && [ ! -e "$DIR/$MARK" ]; then
        if [ -z "$(ls -A "$DIR")" ]; then
            rmdir "$DIR"
        else
            note "$DIR is not a second host's folder; leaving it alone"
            exit 0
        fi
    fi
    if [ -d "$DIR" ]; then
        : >"$DIR/stopping"
        kill_pending
        exec 9>>"$DIR/lock"
        # A boot in progress finishes first (bounded), then sees "stopping".
        flock -w 90 9 || note "$DIR/lock is still held; stopping anyway"
        kill_pending
    fi
    if [ -e "/run/netns/$NETNS" ]; then
        hp=$(holder_pid)
        pids=$(ip netns pids "$NETNS" 2>/dev/null)
        for p in $pids; do
            if is_qemu "$p"; then kill -KILL "$p" 2>/dev/null; fi
        done
        for p in $pids; do
            [ "$p" = "$hp" ] || kill -TERM "$p" 2>/dev/null
        done
        i=0
        while ip netns pids "$NETNS" 2>/dev/null | grep -qvx "${hp:-none}" && [ "$i" -lt 50 ]; do
            sleep 0.2
            i=$((i + 1))
        done
        i=0
        while [ -n "$(ip netns pids "$NETNS" 2>/dev/null)" ] && [ "$i" -lt 25 ]; do
            for p in $(ip netns pids "$NETNS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
            sleep 0.2
            i=$((i + 1))
        done
        [ -z "$(ip netns pids "$NETNS" 2>/dev/null)" ] ||
            note "processes still in $NETNS: $(ip netns pids "$NETNS" | tr '\n' ' ')"
    fi
    ip link del "$VETH" >/dev/null 2>&1
    if ip netns list 2>/dev/null | grep -q "^$NETNS\\b"; then
        ip netns del "$NETNS" || note "cannot delete network namespace $NETNS"
    fi
    if [ -d "$DIR" ]; then
        rm -rf "$DIR" || note "cannot remove $DIR"
    fi
    exit 0
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case "$cmd" in
    start) [ $# = 1 ] || usage; cmd_start "$1" ;;
    exec) cmd_exec "$@" ;;
    boot-id) [ $# = 1 ] || usage; cmd_boot_id "$1" ;;
    reboot) cmd_reboot "$@" ;;
    stop) [ $# = 1 ] || usage; cmd_stop "$1" ;;
    _boot-later) [ $# = 2 ] || usage; cmd_boot_later "$1" "$2" ;;
    *) usage ;;
esac
