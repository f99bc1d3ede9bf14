#!/bin/bash
# Bash completion as a user meets it: the script is sourced as
# bash-completion would, and its function is driven with COMP_WORDS and
# COMP_CWORD as bash sets them (a URI split at ':'), calling the real
# nestlab. Lab names come from a test driver state file with nestlab's
# marks, rollout ids from a real (halted) run's journal.
set -u
: "${NESTLAB:?}" "${NESTLAB_SOURCE:?}"
S=$NESTLAB_SOURCE
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export NESTLAB_STATE_DIR="$T/state"
unset LIBVIRT_DEFAULT_URI
n=0; failed=0

# shellcheck source=../../scripts/completion/nestlab.bash
source "$S/scripts/completion/nestlab.bash"

# complete DESCRIPTION EXPECTED -- WORD...: completes the last WORD (the one
# under the cursor) and compares the offers, sorted, with EXPECTED.
complete_is() {
    local desc=$1 want=$2 got
    shift 3
    COMP_WORDS=("$NESTLAB" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _nestlab 2>"$T/err"
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
    n=$((n + 1))
    if [ "$got" = "$want" ] && [ ! -s "$T/err" ]; then echo "ok $n - $desc"
    else echo "not ok $n - $desc: offered '$got', expected '$want'"; sed 's/^/# /' "$T/err"; failed=1; fi
}

ALL="checkpoint destroy down help host image nested provision rebuild render revert rollout secret status up validate"
complete_is "the commands, families as one word" "$ALL" -- ""
complete_is "a command from its start" "rollout" -- ro
complete_is "the commands of a family" "abort plan resume run status" -- rollout ""
complete_is "the hidden completion command is not offered" "" -- _
complete_is "global options" "--connect --debug --help --version -c" -- -
complete_is "a URI is not guessed" "" -- -c ""
complete_is "commands after -c URI, split at ':' as bash does" "$ALL" -- -c test : ///default ""
complete_is "a command's options" "--dry-run --help --workers --yes" -- destroy --
complete_is "a two-word command's options, hidden ones left out" "--help --json" -- host check --
complete_is "an option's words" "amd intel" -- render --vendor ""
complete_is "nothing after a command that takes no argument" "" -- host check ""
complete_is "nothing for an unknown command" "" -- frobnicate ""

# Files: templates and plans are *.xml (and folders to go into).
mkdir -p "$T/files/sub" && touch "$T/files/a.xml" "$T/files/b.txt" "$T/files/sub/c.xml"
cd "$T/files" || exit 1
complete_is "a template is an XML file or a folder" "a.xml sub" -- up ""
complete_is "validate takes any number of templates" "a.xml sub" -- validate a.xml ""
complete_is "render takes one" "" -- render a.xml ""
complete_is "a rollout plan is an XML file" "a.xml sub" -- rollout run --now ""
complete_is "--out takes a folder" "sub" -- render --out ""
complete_is "--html takes any file" "a.xml b.txt sub" -- rollout status --html ""
complete_is "an option's value is not an argument" "a.xml sub" -- render -o sub ""
complete_is "a number is not guessed" "" -- down --timeout ""

# Lab names, from nestlab on the connection the line names.
LABS="test://$S/tests/cli/labs.xml"
U=${LABS#test:}
complete_is "lab names from -c URI" "alpha beta patch-ring" -- -c test : "$U" destroy ""
complete_is "lab names from --connect=URI" "alpha beta patch-ring" -- --connect = test : "$U" status ""
complete_is "lab names after an option and its value" "alpha beta patch-ring" -- -c test : "$U" down -t 5 ""
complete_is "a lab from its start" "patch-ring" -- -c test : "$U" checkpoint p
complete_is "checkpoint names are not guessed" "" -- -c test : "$U" revert alpha ""
export LIBVIRT_DEFAULT_URI="$LABS"
complete_is "lab names from LIBVIRT_DEFAULT_URI" "alpha beta patch-ring" -- destroy ""
complete_is "no lab after a lab" "" -- destroy alpha ""
complete_is "anything after -- is an argument" "alpha beta patch-ring" -- destroy -- ""

# Rollout ids: a real run halts at once (the test driver's guest agent does
# not answer) and leaves its journal.
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
"$NESTLAB" rollout run --now --id kb9-first "$T/plan.xml" >/dev/null 2>&1
complete_is "rollout ids from the state folder" "kb9-first" -- rollout resume ""
complete_is "one rollout id" "" -- rollout abort kb9-first ""
unset LIBVIRT_DEFAULT_URI

complete_is "help completes commands" "$ALL" -- help ""
complete_is "and the second word of a family" "disable enable status" -- help nested ""
complete_is "and nothing after a whole command" "" -- help nested enable ""

# Loaded as bash-completion loads it: from a completions folder, by the
# command's name, on the first TAB.
n=$((n + 1))
if [ -r /usr/share/bash-completion/bash_completion ]; then
    mkdir -p "$T/data/bash-completion/completions"
    cp "$S/scripts/completion/nestlab.bash" "$T/data/bash-completion/completions/nestlab"
    if (complete -r nestlab; unset -f _nestlab
        export XDG_DATA_DIRS="$T/data" BASH_COMPLETION_USER_DIR="$T/none"
        # shellcheck disable=SC1091
        source /usr/share/bash-completion/bash_completion
        __load_completion nestlab && complete -p nestlab | grep -q -- '-F _nestlab') >"$T/err" 2>&1
    then echo "ok $n - bash-completion loads it from its completions folder"
    else echo "not ok $n - bash-completion did not load it"; sed 's/^/# /' "$T/err"; failed=1; fi
else
    echo "ok $n # SKIP bash-completion is not installed (scripts/setup.sh installs it)"
fi

echo "1..$n"
exit $failed
