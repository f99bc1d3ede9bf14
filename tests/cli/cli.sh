#!/bin/sh
# The command line as a user meets it: exit statuses (0 ok, 1 failed, 2 bad
# usage or input), messages that name the file and line, and invalid input
# that creates nothing. No libvirt needed.
set -u
: "${NESTLAB:?}" "${NESTLAB_SOURCE:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# Every nestlab run below keeps its temporary files (osinfo-db's scratch
# folder, while a template is validated) in a TMPDIR that must be empty at
# the end.
mkdir "$T/tmp"; export TMPDIR="$T/tmp"
n=0; failed=0

# Under `meson test --setup valgrindcli`, every nestlab process runs under
# the wrapper (memcheck: an error turns the exit status into 99).
if [ -n "${NESTLAB_WRAPPER:-}" ]; then
    printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$NESTLAB_WRAPPER" "$NESTLAB" >"$T/nestlab"
    chmod +x "$T/nestlab"
    NESTLAB=$T/nestlab
fi

check() { # check DESCRIPTION EXPECTED-STATUS COMMAND...
    desc=$1; want=$2; shift 2
    n=$((n + 1))
    "$@" >"$T/out" 2>"$T/err"; got=$?
    if [ "$got" = "$want" ]; then echo "ok $n - $desc"
    else echo "not ok $n - $desc (exit $got, expected $want)"; sed 's/^/# /' "$T/err"; failed=1; fi
}
contains() { # contains DESCRIPTION FILE TEXT
    n=$((n + 1))
    if grep -qF -- "$3" "$2"; then echo "ok $n - $1"
    else echo "not ok $n - $1: '$3' not in output"; sed 's/^/# /' "$2"; failed=1; fi
}

S=$NESTLAB_SOURCE
check "version prints and exits 0" 0 "$NESTLAB" --version
contains "version names the program" "$T/out" "nestlab "
check "no command is bad usage" 2 "$NESTLAB"
check "unknown command is bad usage" 2 "$NESTLAB" frobnicate
check "unknown global option is bad usage" 2 "$NESTLAB" --frob validate x
check "help lists commands" 0 "$NESTLAB" help
contains "help mentions render" "$T/out" "render FILE"
check "help for a command" 0 "$NESTLAB" help render
contains "command help shows its options" "$T/out" "--out"
check "help for an unknown command is bad usage" 2 "$NESTLAB" help nothing
check "unknown command option is bad usage" 2 "$NESTLAB" validate --frob "$S/templates/scvmm-demo.xml"
check "validate without files is bad usage" 2 "$NESTLAB" validate
check "--kvm with --emulate is bad usage" 2 "$NESTLAB" -c test:///default up --kvm --emulate \
    --create-missing-images "$S/templates/scvmm-demo.xml"
contains "and says they contradict each other" "$T/err" "--kvm and --emulate contradict each other"
check "shipped templates validate" 0 "$NESTLAB" validate "$S/templates/scvmm-demo.xml" \
    "$S/templates/failover-cluster.xml" "$S/templates/patch-ring.xml"
check "tiny-lab validates with guest_dir" 0 "$NESTLAB" validate --set guest_dir=/tmp/g "$S/templates/tiny-lab.xml"
check "tiny-lab without guest_dir is invalid input" 2 "$NESTLAB" validate "$S/templates/tiny-lab.xml"
contains "the missing parameter is named with file and line" "$T/err" "tiny-lab.xml:8: parameter 'guest_dir' is required"
check "a bad --set is bad usage" 2 "$NESTLAB" validate --set novalue "$S/templates/scvmm-demo.xml"
check "an unknown parameter is invalid input" 2 "$NESTLAB" validate --set nope=1 "$S/templates/scvmm-demo.xml"
check "one bad file among good ones fails the run" 2 "$NESTLAB" validate "$S/templates/scvmm-demo.xml" \
    "$S/tests/data/template/bad/ip-duplicate.xml"
contains "the bad file's error has file and line" "$T/err" "ip-duplicate.xml:5: machine 'a': IP 10.1.0.5 is already used"
check "hostile input is invalid input" 2 "$NESTLAB" validate "$S/tests/data/template/bad/doctype-billion-laughs.xml"
check "render prints every object" 0 "$NESTLAB" render --vendor intel "$S/templates/scvmm-demo.xml"
contains "render output has domains" "$T/out" "<!-- domain scvmm-demo-hv02 -->"
check "render --out writes files" 0 "$NESTLAB" render --vendor amd --out "$T/xml" "$S/templates/scvmm-demo.xml"
n=$((n + 1)); if [ "$(ls "$T/xml" | wc -l)" -eq 21 ]; then echo "ok $n - 13 files (2 networks, 7 volumes, 4 domains), 4 media folders and 4 step folders"
else echo "not ok $n - expected 21 entries, got $(ls "$T/xml" | wc -l)"; failed=1; fi
contains "render --out writes each machine's answer file" "$T/xml/media-scvmm-demo-vmm01/Unattend.xml" \
    "<JoinDomain>corp.nestlab.test</JoinDomain>"
contains "secrets in written media are masked" "$T/xml/media-scvmm-demo-vmm01/Unattend.xml" "[secret domain-admin]"
check "render --out of the tiny lab writes cloud-init seeds" 0 "$NESTLAB" render --out "$T/tiny" \
    --set guest_dir=/tmp/g "$S/templates/tiny-lab.xml"
contains "a seed's network-config has the static address" "$T/tiny/media-tiny-client02/network-config" '"10.213.7.22/24"'
contains "a seed's user-data holds no password, only where its hash goes" "$T/tiny/media-tiny-server/user-data" \
    "[SHA-512 crypt of secret root-password]"

# secret show reads what nestlab stored (0600) under NESTLAB_STATE_DIR.
mkdir -p "$T/state/secrets/demo"; chmod 700 "$T/state/secrets" "$T/state/secrets/demo"
printf 'Stored-Secret-1\n' >"$T/state/secrets/demo/admin"; chmod 600 "$T/state/secrets/demo/admin"
NESTLAB_STATE_DIR=$T/state check "secret show prints a stored secret" 0 "$NESTLAB" secret show demo admin
contains "secret show prints the value" "$T/out" "Stored-Secret-1"
NESTLAB_STATE_DIR=$T/state check "secret show of an unknown secret fails" 1 "$NESTLAB" secret show demo dsrm
contains "it says which lab and secret" "$T/err" "lab 'demo' has no stored secret 'dsrm'"
chmod 644 "$T/state/secrets/demo/admin"
NESTLAB_STATE_DIR=$T/state check "secret show refuses a secret others may read" 2 "$NESTLAB" secret show demo admin
n=$((n + 1)); if ! grep -q "Stored-Secret-1" "$T/out" "$T/err"; then echo "ok $n - the refused value is printed nowhere"
else echo "not ok $n - the refused value was printed"; failed=1; fi
check "secret show of a path is bad usage" 2 "$NESTLAB" secret show ../demo admin
# up with a password file others may read: bad input (exit 2), named, and
# the password is in no message.
printf 'Readable-Secret-9\n' >"$T/pw"; chmod 644 "$T/pw"
cat >"$T/secret-lab.xml" <<EOF
<lab name="sec" admin-password="pw">
  <secret name="pw" file="$T/pw"/>
  <image name="tiny" os="linux" volume="tiny.qcow2"/>
  <network name="n" mode="isolated" subnet="10.213.99.0/24"/>
  <machine name="m" memory="128MiB" firmware="bios"><disk image="tiny"/><nic network="n"/></machine>
</lab>
EOF
check "up with a secret file others may read is refused" 2 "$NESTLAB" -c test:///default up \
    --create-missing-images "$T/secret-lab.xml"
contains "it names the file" "$T/err" "$T/pw"
n=$((n + 1)); if grep -q "Readable-Secret-9" "$T/out" "$T/err"; then echo "not ok $n - the secret leaked"; failed=1
else echo "ok $n - the secret is in no output"; fi
n=$((n + 1)); if grep -q "up of lab" "$T/out"; then echo "not ok $n - up went on"; failed=1
else echo "ok $n - nothing was applied"; fi
check "render of an invalid template is invalid input" 2 "$NESTLAB" render --out "$T/none" \
    "$S/tests/data/template/bad/unknown-network.xml"
n=$((n + 1)); if [ ! -e "$T/none" ]; then echo "ok $n - invalid input creates nothing"
else echo "not ok $n - $T/none was created"; failed=1; fi
check "render --vendor must be intel or amd" 2 "$NESTLAB" render --vendor via "$S/templates/scvmm-demo.xml"

# One wording for one problem, whichever command meets it.
check "a command without its LAB is bad usage" 2 "$NESTLAB" down
contains "and says what it expected" "$T/err" "nestlab down: expected one LAB"
check "destroy with two labs is bad usage" 2 "$NESTLAB" destroy a b
contains "in the same words" "$T/err" "nestlab destroy: expected one LAB"
check "host check takes no arguments" 2 "$NESTLAB" host check now
contains "and names the stray one" "$T/err" "nestlab host check: expected no arguments, not 'now'"
check "revert needs LAB and NAME" 2 "$NESTLAB" revert lab
contains "and says so with its synopsis" "$T/err" "nestlab revert: expected LAB NAME"
check "an unknown global option is bad usage" 2 "$NESTLAB" --frob
contains "worded as for a command" "$T/err" "nestlab: unknown option '--frob' (see 'nestlab help')"
check "an unknown command option is bad usage" 2 "$NESTLAB" destroy --frob lab
contains "worded as for nestlab itself" "$T/err" "nestlab destroy: unknown option '--frob' (see 'nestlab help destroy')"
check "a stray short option is bad usage" 2 "$NESTLAB" destroy -yx lab
contains "and is named" "$T/err" "nestlab destroy: unknown option '-x'"
check "an unknown command is bad usage" 2 "$NESTLAB" frobnicate
contains "and points to help" "$T/err" "nestlab: unknown command 'frobnicate' (see 'nestlab help')"
check "help for an unknown command says the same" 2 "$NESTLAB" help host
contains "in the same words" "$T/err" "nestlab help: unknown command 'host' (see 'nestlab help')"
for cmd in "down" "nested enable" "nested disable"; do
    # shellcheck disable=SC2086
    check "$cmd: a negative --timeout is bad usage" 2 "$NESTLAB" $cmd --timeout -5 x
    contains "$cmd: and is worded as everywhere" "$T/err" "nestlab $cmd: --timeout '-5': expected a whole number, 0 or more"
done
check "a --timeout that is not a number is the same problem" 2 "$NESTLAB" down --timeout soon x
contains "with the same words" "$T/err" "nestlab down: --timeout 'soon': expected a whole number, 0 or more"
check "a negative --workers is bad usage" 2 "$NESTLAB" destroy -j -1 x
contains "worded as --timeout" "$T/err" "nestlab destroy: --workers '-1': expected a whole number, 0 or more"
check "-- ends the options" 2 "$NESTLAB" validate -- -not-an-option.xml
contains "so a file may start with a dash" "$T/err" "-not-an-option.xml"

# Labs on a test driver state file that carries nestlab's marks (one
# process: the test driver keeps its state in the process that opens it).
LABS="test://$S/tests/cli/labs.xml"
check "status --names lists every lab" 0 "$NESTLAB" -c "$LABS" status --names
printf 'alpha\nbeta\npatch-ring\n' >"$T/names"
n=$((n + 1)); if cmp -s "$T/out" "$T/names"; then echo "ok $n - one name a line, sorted, none foreign"
else echo "not ok $n - status --names printed:"; sed 's/^/# /' "$T/out"; failed=1; fi
check "status --names takes LIBVIRT_DEFAULT_URI" 0 env LIBVIRT_DEFAULT_URI="$LABS" "$NESTLAB" status --names
contains "as every command does" "$T/out" "patch-ring"
check "status --names with a LAB is bad usage" 2 "$NESTLAB" -c "$LABS" status --names alpha
# Without a terminal nothing can be asked: every command that would ask
# refuses in the same words, and changes nothing.
check "destroy without a terminal and without --yes is refused" 2 "$NESTLAB" -c "$LABS" destroy alpha </dev/null
contains "and explains what to do" "$T/err" \
    "nestlab destroy: standard input is not a terminal, so nestlab cannot ask: pass --yes to remove the 2 objects of lab 'alpha'; nothing changed"
check "rebuild without a terminal and without --yes is refused" 2 "$NESTLAB" -c "$LABS" rebuild \
    --create-missing-images "$S/templates/patch-ring.xml" </dev/null
contains "in the same words" "$T/err" \
    "nestlab rebuild: standard input is not a terminal, so nestlab cannot ask: pass --yes to remove the 1 object of lab 'patch-ring' and build it again; nothing changed"
check "nested enable without a terminal and without --yes is refused" 2 "$NESTLAB" -c test:///default \
    nested enable test --force --emulate </dev/null
contains "in the same words" "$T/err" \
    "nestlab nested enable: standard input is not a terminal, so nestlab cannot ask: pass --yes to apply these changes; nothing changed"
check "destroy --yes needs no terminal" 0 "$NESTLAB" -c "$LABS" destroy --yes alpha </dev/null
contains "and removes what the lab owns" "$T/out" "destroy of lab 'alpha': 2 done"

# Rollout ids: a real run on the test driver (its guest agent does not
# answer, so the run halts at once) leaves its journal in the state folder.
export NESTLAB_STATE_DIR="$T/state"
cat >"$T/plan.xml" <<'PLAN'
<rollout name="kb9" agent-timeout="1s">
  <patch id="KB9" title="a patch" severity="critical" reboot="no" timeout="5s">
    <install os="linux"><arg>/bin/true</arg></install>
  </patch>
  <targets><lab name="alpha"/></targets>
  <replica enabled="no"/>
  <ring name="all" select="*" batches="1" max-parallel="1" failure-budget="0"/>
</rollout>
PLAN
check "a rollout whose agent never answers halts" 1 "$NESTLAB" -c "$LABS" rollout run --now --id kb9-one "$T/plan.xml"
check "rollout status --ids lists it" 0 "$NESTLAB" rollout status --ids
n=$((n + 1)); if [ "$(cat "$T/out")" = "kb9-one" ]; then echo "ok $n - one id a line"
else echo "not ok $n - rollout status --ids printed:"; sed 's/^/# /' "$T/out"; failed=1; fi
check "rollout status --ids with --json is bad usage" 2 "$NESTLAB" rollout status --ids --json

# provision on the test driver: nothing runs, but its arguments are checked.
check "provision on test:///default runs nothing" 0 "$NESTLAB" -c test:///default provision \
    "$S/templates/tiny-lab.xml" --set guest_dir=/nonexistent
n=$((n + 1)); if grep -q "3 steps not run (test:///default runs no guest)" "$T/out"; then echo "ok $n - it says so"
else echo "not ok $n - provision printed:"; sed 's/^/# /' "$T/out"; failed=1; fi
check "provision of a machine the lab lacks is bad usage" 2 "$NESTLAB" -c test:///default provision \
    "$S/templates/tiny-lab.xml" --set guest_dir=/nonexistent nosuch
check "provision --from a step the machine lacks is bad usage" 2 "$NESTLAB" -c test:///default provision \
    "$S/templates/tiny-lab.xml" --set guest_dir=/nonexistent client01 --from nosuch

# A plan with hosts: the planned windows, and the downtime notice as
# iCalendar (CRLF lines) and JSON.
check "rollout plan of hosts writes the downtime notice" 0 "$NESTLAB" rollout plan --offline \
    "$S/tests/data/rollout/good/hosts.xml" --ics "$T/notice.ics" --notice-json "$T/notice.json"
contains "it shows each host's window" "$T/out" "host hv1 (qemu+ssh://root@hv1/system), peer hv2: window"
n=$((n + 1))
if head -c 17 "$T/notice.ics" | od -c | grep -q '\\r' && grep -q "^BEGIN:VEVENT" "$T/notice.ics" &&
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/notice.json"; then echo "ok $n - the notice is iCalendar with CRLF lines, and JSON"
else echo "not ok $n - the notice is not what it should be"; failed=1; fi
# A host window on test:///default, whose reboot never happens (the boot
# id stays): the host fails, its guest comes back, exit status 1.
cat >"$T/hostplan.xml" <<'EOF2'
<rollout name="hp" agent-timeout="1s">
  <patch id="P1" severity="low"><install os="linux"><arg>/bin/true</arg></install></patch>
  <targets>
    <host name="hv" uri="test:///default" boot-timeout="2s">
      <reboot><arg>/bin/true</arg></reboot>
      <boot-id><arg>/bin/echo</arg><arg>same-boot</arg></boot-id>
    </host>
  </targets>
  <host-policy stop="save"/>
  <replica enabled="no"/>
</rollout>
EOF2
check "rollout plan asks the host for its guests" 0 "$NESTLAB" -c test:///default rollout plan "$T/hostplan.xml"
contains "it lists the guest the host reports, with its stop action" "$T/out" "test: save"
check "a host whose reboot never happens fails the run" 1 "$NESTLAB" -c test:///default rollout run \
    --now --id hp-one "$T/hostplan.xml"
contains "it says why" "$T/err" "its boot id did not change within 2s: the reboot did not happen"
contains "and brings the guest back" "$T/err" "host hv: test: resuming"
sed 's|uri="test:///default" boot-timeout="2s">|uri="qemu:///system">|; /<reboot>/d' "$T/hostplan.xml" >"$T/hostplan-self.xml"
check "a host that is this machine needs a reboot command (bad input)" 2 "$NESTLAB" rollout plan --offline \
    "$T/hostplan-self.xml"
contains "it says why, with file and line" "$T/err" "hostplan-self.xml:4: host 'hv': 'qemu:///system' is the machine nestlab runs on"

# The man page and the README name every command `nestlab help` lists, and
# every option each command's --help lists (the man page's ones).
"$NESTLAB" help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z]*\( [a-z][a-z]*\)\{0,1\}\) .*/\1/p' \
    | sed 's/ [A-Z[].*//' | sort -u >"$T/commands"
missing=""
while read -r cmd; do
    # A command's words in the man page, with roff's escaped hyphens.
    grep -q "^\.B[I]* \"*$cmd\( \|\"\|$\)" "$S/docs/nestlab.1" || missing="$missing man:$cmd"
    grep -q "nestlab $cmd" "$S/README.md" || missing="$missing README:$cmd"
    for opt in $("$NESTLAB" $cmd --help 2>/dev/null | sed -n 's/^  \(-[a-z], \)\{0,1\}--\([a-z-]*\).*/\2/p' | grep -v '^help$'); do
        sed 's/\\-/-/g' "$S/docs/nestlab.1" | grep -q -- "--$opt" || missing="$missing man:$cmd--$opt"
    done
done <"$T/commands"
n=$((n + 1))
if [ -s "$T/commands" ] && [ -z "$missing" ]; then echo "ok $n - the man page and README cover $(wc -l <"$T/commands") commands and their options"
else echo "not ok $n - not documented:$missing"; failed=1; fi

n=$((n + 1)); if [ -z "$(ls -A "$TMPDIR")" ]; then echo "ok $n - nestlab leaves TMPDIR as it found it"
else echo "not ok $n - left in TMPDIR: $(ls -A "$TMPDIR" | tr '\n' ' ')"; failed=1; fi

echo "1..$n"
exit $failed
