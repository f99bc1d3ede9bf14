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
n=$((n + 1)); if [ "$(ls "$T/xml" | wc -l)" -eq 13 ]; then echo "ok $n - 13 files: 2 networks, 7 volumes, 4 domains"
else echo "not ok $n - expected 13 files, got $(ls "$T/xml" | wc -l)"; failed=1; fi
check "render of an invalid template is invalid input" 2 "$NESTLAB" render --out "$T/none" \
    "$S/tests/data/template/bad/unknown-network.xml"
n=$((n + 1)); if [ ! -e "$T/none" ]; then echo "ok $n - invalid input creates nothing"
else echo "not ok $n - $T/none was created"; failed=1; fi
check "render --vendor must be intel or amd" 2 "$NESTLAB" render --vendor via "$S/templates/scvmm-demo.xml"

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
