#!/bin/sh
# Kill campaign for rollouts, as an operator would try it: a rollout with a
# replica (`rollout run --now --id ID`) is killed with SIGKILL at random
# moments, `rollout resume ID` is started again after each kill (and killed
# too, a few times), then resumed to the end. Each round asserts that the
# rollout is done, that inside every production guest the round's patch ran
# exactly once (a counter file), and that nothing is left behind: no
# replica domain, network or file, no backup or block job, no restore point,
# and the lab's pool files exactly as before.
#
# NESTLAB_CAMPAIGN_ROUNDS rounds (default 1); the moments come from
# NESTLAB_CAMPAIGN_SEED (printed; drawn at random when unset), so a failing
# campaign replays with the same seed.
. "$NESTLAB_SOURCE/tests/system/lib.sh"
nl_require_libvirtd
dir=$(nl_guest_dir)
lab=$(nl_lab_name kro)
octet=$(( $$ % 100 + 20 ))
work=$(mktemp -d "${TMPDIR:-/tmp}/nltest-campaign-rollout.XXXXXX")
export NESTLAB_STATE_DIR="$work/state"
rounds=${NESTLAB_CAMPAIGN_ROUNDS:-1}
seed=${NESTLAB_CAMPAIGN_SEED:-$(od -An -N4 -tu4 /dev/urandom | awk '{ print $1 % 2147483647 }')}
kills=${NESTLAB_CAMPAIGN_KILLS:-3}
runs=""
say "rollout kill campaign: seed $seed, $rounds round(s), up to $kills kills each (NESTLAB_CAMPAIGN_SEED=$seed replays it)"

cleanup() {
    rc=$?
    # shellcheck disable=SC2086
    nl_remove_replicas $runs
    nl_remove_lab "$lab"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dom() { printf '%s-%s\n' "$lab" "$1"; }
vsh() { virsh -q -c "$URI" "$@"; }

# The K-th random delay of this campaign, in seconds (1.0 to 6.0).
delay() {
    awk -v s="$seed" -v k="$1" 'BEGIN { srand(s); for (i = 0; i < k; i++) x = rand(); printf "%.1f\n", 1 + x * 5 }'
}

# The lab's files in the default pool, sorted.
pool_files() {
    vsh pool-refresh default >/dev/null
    vsh vol-list default | awk '{ print $1 }' | grep "^$lab-" | sort
}
# Every file in the pool that names a replica of run $1.
replica_files() {
    vsh pool-refresh default >/dev/null
    vsh vol-list default | awk '{ print $1 }' | grep "^$(nl_replica_lab "$1")" || true
}
counter() { # $1 machine, $2 file: its number of lines (0 when absent)
    nl_guest_sh "$(dom "$1")" "if [ -e '$2' ]; then wc -l < '$2'; else echo 0; fi" | tr -d ' \n'
}

say "bringing up lab $lab on 10.214.$octet.0/24"
"$NESTLAB" -c "$URI" up --no-status --no-delays "$NESTLAB_SOURCE/templates/tiny-lab.xml" \
    --set "guest_dir=$dir" --set "lab=$lab" --set "subnet_prefix=10.214.$octet" >/dev/null \
    || fail "nestlab up failed"
for m in server client01 client02; do nl_wait_agent "$(dom "$m")" 120; done
pool_files >"$work/files.before"

k=0
r=1
while [ "$r" -le "$rounds" ]; do
    id="kro-$seed-$r"
    kb="KB$r"
    runs="$runs $id"
    cat >"$work/plan-$r.xml" <<EOF
<rollout name="kro-$lab" agent-timeout="90s">
  <patch id="$kb" severity="critical">
    <install os="linux"><arg>/bin/sh</arg><arg>-c</arg><arg>sleep 1; echo $kb >> /data/kro-count-$kb; sync</arg></install>
    <check os="linux"><arg>/bin/grep</arg><arg>-qx</arg><arg>$kb</arg><arg>/data/kro-count-$kb</arg></check>
  </patch>
  <targets><lab name="$lab"/></targets>
  <health name="agent"><agent/></health>
  <replica enabled="yes" keep="no" boot-timeout="120s"/>
  <ring name="canary" select="client01" batches="1" max-parallel="1" failure-budget="0"/>
  <ring name="broad" select="*" batches="1 then 50%" max-parallel="2" failure-budget="0"/>
</rollout>
EOF
    # The run, then resumes, each killed at a random moment while it lasts.
    "$NESTLAB" -c "$URI" rollout run --now --id "$id" "$work/plan-$r.xml" >>"$work/out-$r" 2>&1 &
    pid=$!
    n=0
    while :; do
        k=$((k + 1))
        d=$(delay "$k")
        t=0
        # Sleep D seconds in steps, so a run that ends early is seen.
        while kill -0 "$pid" 2>/dev/null && [ "$(awk -v t="$t" -v d="$d" 'BEGIN { print (t < d) }')" = 1 ]; do
            sleep 0.1
            t=$(awk -v t="$t" 'BEGIN { print t + 0.1 }')
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            n=$((n + 1))
            say "round $r: killed after ${d}s ($n), state $(nl_rollout_state "$id")"
        else
            wait "$pid" 2>/dev/null || true
        fi
        case $(nl_rollout_state "$id") in
            "done" | "halted" | "aborted") break ;;
        esac
        [ "$n" -lt "$kills" ] || break
        "$NESTLAB" -c "$URI" rollout resume "$id" >>"$work/out-$r" 2>&1 &
        pid=$!
    done
    case $(nl_rollout_state "$id") in
        "done" | "halted" | "aborted") ;;
        *) "$NESTLAB" -c "$URI" rollout resume "$id" >>"$work/out-$r" 2>&1 || true ;;
    esac
    st=$(nl_rollout_state "$id")
    if [ "$st" != done ]; then
        sed 's/^/#   /' "$work/out-$r" >&2
        fail "round $r (seed $seed): the rollout ended $st, not done"
    fi
    say "ok: round $r: after $n kill(s) the rollout is done"
    for m in server client01 client02; do
        expect "round $r: $m ran $kb exactly once" test "$(counter "$m" "/data/kro-count-$kb")" = 1
        expect "round $r: $m has no job left running" \
            sh -c "virsh -q -c '$URI' domjobinfo '$(dom "$m")' | grep -q 'Job type: *None'"
        expect "round $r: $m keeps no restore point" \
            test -z "$(vsh snapshot-list "$(dom "$m")" --name)"
    done
    expect "round $r: no replica domain is left" \
        sh -c "! virsh -q -c '$URI' list --all --name | grep -q '^replica-'"
    expect "round $r: no replica network is left" \
        sh -c "! virsh -q -c '$URI' net-list --all --name | grep -q '^replica-'"
    expect "round $r: no replica file is left in the pool" test -z "$(replica_files "$id")"
    pool_files >"$work/files.after"
    expect "round $r: the lab's pool files are exactly as before" cmp -s "$work/files.before" "$work/files.after"
    r=$((r + 1))
done
