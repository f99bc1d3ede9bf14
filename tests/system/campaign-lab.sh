#!/bin/sh
# Kill campaigns: `up`, `destroy`, `checkpoint`, `revert` and `checkpoint
# --delete` are killed with SIGKILL at random moments, once or several
# times in a row, then run again until one completes. Each time the rerun must exit 0 and leave exactly
# what an uninterrupted run leaves: the same libvirt objects, the same
# files in the storage pool (no stray overlay, memory, NVRAM or TPM copy),
# the checkpoint listed once, a change made after it undone by the revert,
# and no libvirt job (domain or block job) left on any machine.
#
# The lab is tiny-lab.xml with its server on UEFI firmware and a TPM, so
# checkpoints take both ways: the server through nestlab's external
# overlays (with memory, NVRAM and TPM copies), the clients as internal
# snapshots.
#
# NESTLAB_CAMPAIGN_ROUNDS rounds per operation (default 1; the `campaign`
# test setup runs 10). The kill moments come from NESTLAB_CAMPAIGN_SEED,
# drawn from /dev/urandom when unset and printed first: set it to replay a
# failure.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
guest=$(nl_guest_dir)
lab=$(nl_lab_name kill)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nltest-campaign.XXXXXX")
rounds=${NESTLAB_CAMPAIGN_ROUNDS:-1}
# awk's srand() (mawk) only varies below 2^31 - 1: seeds are taken modulo that.
seed=${NESTLAB_CAMPAIGN_SEED:-$(od -An -N4 -tu4 /dev/urandom | awk '{ print $1 % 2147483647 }')}
machines="server client01 client02"
say "campaign seed $seed, $rounds round(s) per operation" \
    "(replay with NESTLAB_CAMPAIGN_SEED=$seed NESTLAB_CAMPAIGN_ROUNDS=$rounds)"

pid=""
cleanup() {
    rc=$?
    # A nestlab still running when the test itself is stopped.
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    [ "$rc" = 0 ] || say "campaign seed was $seed (NESTLAB_CAMPAIGN_SEED=$seed NESTLAB_CAMPAIGN_ROUNDS=$rounds)"
    nl_remove_lab "$lab"
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

vsh() { virsh -q -c "$URI" "$@"; }
nl() { "$NESTLAB" -c "$URI" "$@"; }

sed 's|<machine name="server" profile="tiny" role="generic">|<machine name="server" profile="tiny" role="generic" firmware="uefi" tpm="yes">|' \
    "$NESTLAB_SOURCE/templates/tiny-lab.xml" >"$tmp/lab.xml"
grep -q 'firmware="uefi"' "$tmp/lab.xml" || fail "could not put tiny-lab.xml's server on UEFI"
set -- --no-status --no-delays --set "guest_dir=$guest" --set "lab=$lab" --set subnet_prefix=10.213.71

# ---- seeded randomness and timing -----------------------------------------

# Sets $drawn to the next number of the seeded sequence, between $1 and $2.
draws=0
draw() {
    draws=$((draws + 1))
    drawn=$(awk -v s="$seed" -v n="$draws" -v lo="$1" -v hi="$2" \
        'BEGIN { srand(s % 2147483647); for (i = 0; i < n; i++) r = rand(); printf "%.2f\n", lo + r * (hi - lo) }')
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }'; }

# Runs nestlab $2... and records in span_$1 how long it took: kills of that
# operation land within that time.
timed() {
    op=$1; shift
    t0=$(now)
    nl "$@" >"$tmp/$op.out" 2>&1 || { cat "$tmp/$op.out" >&2; return 1; }
    eval "span_$op=\$(since \$t0)"
    say "a clean $op takes $(eval echo "\$span_$op") s"
}

# Runs nestlab $2... in the background and kills it with SIGKILL after a
# drawn delay (within the time a clean run of operation $1 took), saying
# where it stopped. A run that ends before its kill must succeed: it is a
# rerun like any other. Sets $finished to yes when it did.
killed_once() {
    op=$1; shift
    span=$(eval echo "\$span_$op")
    draw 0.05 "$span"
    delay=$drawn
    # nestlab itself in the background, not a shell function running it:
    # the kill must hit nestlab, not a subshell that waits for it.
    "$NESTLAB" -c "$URI" "$@" >"$tmp/killed.out" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null || true
    krc=0
    { wait "$pid"; } 2>/dev/null || krc=$?
    finished=no
    if [ "$krc" = 137 ]; then
        say "  $op killed after $delay s"
        if pgrep -f -- "$NESTLAB .*$lab" >/dev/null; then
            say "  a nestlab process of the lab outlived the kill"
            return 1
        fi
        return 0
    fi
    finished=yes
    say "  $op ended by itself (exit $krc) before its kill at $delay s"
    [ "$krc" = 0 ] && return 0
    # A destroy that finds no lab says so and exits 1: the one killed before
    # it had removed everything already (nothing_left checks that it did).
    if [ "$op" = destroy ] && [ "$krc" = 1 ] && grep -q "no lab '$lab' here" "$tmp/killed.out"; then
        say "  (it found no lab: the destroy killed before it had removed it all)"
        return 0
    fi
    sed 's/^/#     /' "$tmp/killed.out" >&2
    return 1
}

# Kills nestlab $2... one to three times in a row (drawn), until one run
# ends by itself.
campaign_kills() {
    op=$1
    draw 1 3.99
    n=${drawn%%.*}
    i=0
    while [ "$i" -lt "$n" ]; do
        killed_once "$@" || fail "$op: a run after a kill failed, or survived it (seed $seed)"
        [ "$finished" = no ] || break
        i=$((i + 1))
    done
}

# ---- what the lab holds ----------------------------------------------------

# The lab's files in the storage pool, sorted, one a line.
pool_files() {
    vsh pool-refresh default >/dev/null
    vsh vol-list default | awk '{ print $1 }' | grep "^$lab-" | sort || true
}
# Compares the pool's files with file $1, showing the difference.
pool_is() {
    pool_files >"$tmp/pool.now"
    if ! diff -u "$1" "$tmp/pool.now" >"$tmp/pool.diff"; then
        sed 's/^/#   /' "$tmp/pool.diff" >&2
        return 1
    fi
}
# No libvirt job on any machine: neither a domain job nor a block job.
no_job_left() {
    for m in $machines; do
        vsh domstate "$lab-$m" >/dev/null 2>&1 || continue
        job=$(vsh domjobinfo "$lab-$m" | awk -F: '/^Job type/ { gsub(/ /, "", $2); print $2 }')
        [ "$job" = None ] || { say "$lab-$m has a $job job"; return 1; }
        for disk in $(vsh domblklist "$lab-$m" | awk '{ print $1 }'); do
            bjob=$(vsh blockjob "$lab-$m" "$disk" --info 2>&1 | grep -v 'No current block job' || true)
            [ -z "$bjob" ] || { say "$lab-$m has a block job on $disk: $bjob"; return 1; }
        done
    done
}
all_running() {
    for m in $machines; do
        st=$(vsh domstate "$lab-$m" 2>&1) || st=missing
        [ "$st" = running ] || { say "$lab-$m is $st"; return 1; }
    done
}
network_active() { vsh net-info "$lab-net" 2>/dev/null | grep -Eq '^Active: +yes'; }
# Notes where the server keeps its NVRAM and TPM state, for nothing_left.
note_server_state() {
    nvram=$(vsh dumpxml "$lab-server" | sed -n 's|.*<nvram[^>]*>\(.*\)</nvram>.*|\1|p')
    tpmdir=/var/lib/libvirt/swtpm/$(vsh domuuid "$lab-server")
    [ -n "$nvram" ] && [ -e "$nvram" ] && [ -d "$tpmdir" ]
}
nothing_left() {
    ! vsh list --all --name | grep -q "^$lab-" \
        && ! vsh net-list --all --name | grep -q "^$lab-" \
        && [ -z "$(pool_files)" ] \
        && { [ ! -e "$nvram" ] || { say "$nvram is left"; false; }; } \
        && { [ ! -e "$tpmdir" ] || { say "$tpmdir is left"; false; }; }
}
# `checkpoint --list` names checkpoint $1 exactly once, on all three machines.
listed_once() {
    nl checkpoint "$lab" --list >"$tmp/list.out" || return 1
    sed 's/^/#   /' "$tmp/list.out" >&2
    [ "$(grep -c "^$1 " "$tmp/list.out")" = 1 ] && grep -Eq "^$1 +3/3 " "$tmp/list.out"
}
# The expected pool files with checkpoint $1 (the clean one's, renamed).
checkpoint_files() { sed "s/@clean\./@$1./" "$tmp/pool.checkpoint"; }
wait_agents() { for m in $machines; do nl_wait_agent "$lab-$m" 240; done; }
# Writes a marker on the disk of the server (external) and of client01
# (internal).
write_markers() {
    for m in server client01; do
        nl_guest_sh "$lab-$m" "echo after-$1 >/data/marker && sync" >/dev/null || return 1
    done
}
markers_gone() {
    for m in server client01; do
        ! nl_guest_sh "$lab-$m" 'test -e /data/marker' >/dev/null || { say "$m kept its marker"; return 1; }
    done
}

# ---- the clean runs the campaigns are measured against --------------------

t_start=$(now)
expect "a clean up builds the lab" timed up up "$@" "$tmp/lab.xml"
pool_files >"$tmp/pool.up"
sed 's/^/#   /' "$tmp/pool.up" >&2
expect "the lab's machines have their volumes in the pool" test -s "$tmp/pool.up"
expect "the server has its NVRAM and TPM state" note_server_state
expect "a clean destroy removes it" timed destroy destroy --yes "$lab"
expect "nothing of it is left, NVRAM and TPM state included" nothing_left
expect "up builds it again" nl up "$@" "$tmp/lab.xml"
wait_agents
expect "a clean checkpoint" timed checkpoint checkpoint "$lab" clean
pool_files >"$tmp/pool.checkpoint"
sed 's/^/#   /' "$tmp/pool.checkpoint" >&2
expect "it made the server's overlay, memory, NVRAM and TPM copies" \
    sh -c "grep -q '@clean.mem' '$tmp/pool.checkpoint' && grep -q '@clean.nvram' '$tmp/pool.checkpoint' \
           && grep -q '@clean.tpm' '$tmp/pool.checkpoint' && grep -q -- '-vda@clean.qcow2' '$tmp/pool.checkpoint'"
expect "the clean checkpoint is listed once" listed_once clean
write_markers clean
expect "a clean revert" timed revert revert "$lab" clean
wait_agents
expect "the clean revert undoes the markers" markers_gone
expect "deleting the clean checkpoint" timed delete checkpoint "$lab" --delete clean
expect "leaves the pool as up made it" pool_is "$tmp/pool.up"
# A delete killed between the server's commit and its pivot leaves the
# commit waiting for the pivot; here libvirt's own blockcommit does that.
expect "a checkpoint to delete halfway" nl checkpoint "$lab" half
expect "the server's overlay committed, not pivoted, as a killed delete leaves it" \
    vsh blockcommit "$lab-server" vda --active --shallow --wait --timeout 120
expect "deleting it completes the commit" nl checkpoint "$lab" --delete half
expect "and leaves the pool as up made it" pool_is "$tmp/pool.up"
expect "and no block job" no_job_left
say "clean runs took $(since "$t_start") s"

# ---- checkpoint, revert and delete -------------------------------------------

r=1
while [ "$r" -le "$rounds" ]; do
    name=k$r
    say "round $r/$rounds: checkpoint $name"
    t0=$(now)
    campaign_kills checkpoint checkpoint "$lab" "$name"
    expect "round $r: checkpoint $name completes after the kills" nl checkpoint "$lab" "$name"
    checkpoint_files "$name" >"$tmp/pool.expected"
    expect "round $r: the pool holds what a clean checkpoint makes, nothing more" pool_is "$tmp/pool.expected"
    expect "round $r: checkpoint --list shows $name once, on every machine" listed_once "$name"
    expect "round $r: every machine still runs" all_running
    expect "round $r: no libvirt job is left after checkpoint" no_job_left

    wait_agents
    expect "round $r: markers written after the checkpoint" write_markers "$name"
    say "round $r/$rounds: revert $name"
    campaign_kills revert revert "$lab" "$name"
    expect "round $r: revert $name completes after the kills" nl revert "$lab" "$name"
    expect "round $r: every machine runs again" all_running
    expect "round $r: no libvirt job is left after revert" no_job_left
    expect "round $r: the pool still holds what a clean checkpoint makes" pool_is "$tmp/pool.expected"
    expect "round $r: checkpoint --list still shows $name once" listed_once "$name"
    wait_agents
    expect "round $r: the revert undid the markers" markers_gone
    say "round $r/$rounds: checkpoint --delete $name"
    campaign_kills delete checkpoint "$lab" --delete "$name"
    expect "round $r: deleting $name completes after the kills" nl checkpoint "$lab" --delete "$name"
    expect "round $r: the pool is as it was before the checkpoint" pool_is "$tmp/pool.up"
    expect "round $r: checkpoint --list no longer shows $name" \
        sh -c "! '$NESTLAB' -c '$URI' checkpoint '$lab' --list | grep -q '^$name '"
    expect "round $r: every machine still runs" all_running
    expect "round $r: no libvirt job is left after delete" no_job_left
    say "round $r: checkpoint, revert and delete took $(since "$t0") s"
    r=$((r + 1))
done

# ---- destroy, then up from nothing ---------------------------------------

r=1
while [ "$r" -le "$rounds" ]; do
    say "round $r/$rounds: destroy"
    t0=$(now)
    # The checkpoint's overlay, copies and memory are the lab's to remove too.
    expect "round $r: a checkpoint for destroy to remove" nl checkpoint "$lab" doomed
    expect "round $r: the server has its NVRAM and TPM state" note_server_state
    campaign_kills destroy destroy --yes "$lab"
    # A destroy that completed leaves no lab for another one to find.
    if [ "$finished" = yes ]; then
        say "round $r: the last destroy ran to its end"
    elif nl status "$lab" >/dev/null 2>&1; then
        expect "round $r: destroy completes after the kills" nl destroy --yes "$lab"
    else
        say "round $r: a killed destroy had removed everything before its kill"
    fi
    expect "round $r: no domain, network, volume, NVRAM or TPM state of the lab is left" nothing_left

    say "round $r/$rounds: up"
    campaign_kills up up "$@" "$tmp/lab.xml"
    expect "round $r: up completes after the kills" nl up "$@" "$tmp/lab.xml"
    expect "round $r: all three machines run" all_running
    expect "round $r: the lab network is active" network_active
    expect "round $r: the pool holds exactly the lab's volumes" pool_is "$tmp/pool.up"
    expect "round $r: no libvirt job is left after up" no_job_left
    say "round $r: destroy and up took $(since "$t0") s"
    r=$((r + 1))
done

expect "the server has its NVRAM and TPM state" note_server_state
expect "destroy removes the lab" nl destroy --yes "$lab"
expect "nothing of it is left" nothing_left
say "campaigns took $(since "$t_start") s"
