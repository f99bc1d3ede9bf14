# bash completion for nestlab                              -*- shell-script -*-
#
# Commands, their options and what their arguments are come from nestlab
# itself (`nestlab _complete`, read from its command table), lab names from
# `nestlab status --names` on the connection the command line names (-c URI,
# --connect URI) or LIBVIRT_DEFAULT_URI, rollout ids from `nestlab rollout
# status --ids` (NESTLAB_STATE_DIR), and templates and plans are *.xml files.
# `meson install` puts this file where bash-completion loads it on the first
# TAB after "nestlab"; to try it by hand: source scripts/completion/nestlab.bash

# COMP_WORDS with the pieces bash splits at ':' and '=' joined again, so a
# URI or --connect=URI is one word: sets _nl_words and _nl_cword.
_nestlab_join_words()
{
    local i t glue=0
    _nl_words=()
    for ((i = 0; i <= COMP_CWORD; i++)); do
        t=${COMP_WORDS[i]}
        if ((${#_nl_words[@]} > 1)) && [[ $t == : || $t == = ]]; then
            _nl_words[-1]+=$t
            glue=1
        elif ((glue)); then
            _nl_words[-1]+=$t
            glue=0
        else
            _nl_words+=("$t")
        fi
    done
    _nl_cword=$((${#_nl_words[@]} - 1))
}

# COMPREPLY from the words in $1 (one a line) that start with $2.
_nestlab_reply_words()
{
    mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

# COMPREPLY: files matching the glob $1 ("" for any) and folders, for $2.
_nestlab_reply_files()
{
    compopt -o filenames 2>/dev/null
    if [[ -n $1 ]]; then
        mapfile -t COMPREPLY < <(compgen -f -X "!$1" -- "$2"; compgen -d -- "$2")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$2")
    fi
}

_nestlab()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local -a _nl_words conn=()
    local _nl_cword nl i w cmd1="" cmd2="" cmd_at=0 commands families
    COMPREPLY=()
    # In the middle of a URI or of --opt=VALUE: nothing to offer.
    [[ $cur == : || $cur == = || ${COMP_WORDS[COMP_CWORD - 1]} == [:=] ]] && return 0

    _nestlab_join_words
    nl=${_nl_words[0]/#\~/$HOME}
    commands=$("$nl" _complete commands 2>/dev/null) || return 0
    families=$(sed -n 's/ .*//p' <<<"$commands" | sort -u)

    # Global options, then the command (one word, or two: "host check").
    for ((i = 1; i < _nl_cword; i++)); do
        w=${_nl_words[i]}
        case $w in
        -c | --connect) ((i++)); conn=(-c "${_nl_words[i]}") ;;
        --connect=*) conn=(-c "${w#--connect=}") ;;
        -*) ;;
        *)
            cmd1=$w
            if grep -qx -- "$w" <<<"$families" && ((i + 1 < _nl_cword)); then
                cmd2=${_nl_words[i + 1]}
                ((i++))
            fi
            cmd_at=$i
            break
            ;;
        esac
    done
    if [[ -z $cmd1 ]]; then
        case ${_nl_words[_nl_cword - 1]} in
        -c | --connect) return 0 ;;
        esac
        if [[ $cur == -* ]]; then
            _nestlab_reply_words $'-c\n--connect\n--debug\n--version\n--help' "$cur"
        else
            _nestlab_reply_words "$(sed 's/ .*//' <<<"$commands" | sort -u)" "$cur"
        fi
        return 0
    fi
    if grep -qx -- "$cmd1" <<<"$families" && [[ -z $cmd2 ]]; then
        # The second word of a two-word command.
        _nestlab_reply_words "$(sed -n "s/^$cmd1 //p" <<<"$commands")" "$cur"
        return 0
    fi

    local grammar kind max value_kind="" prev=${_nl_words[_nl_cword - 1]}
    local -a takes_value=() options=()
    # shellcheck disable=SC2086
    grammar=$("$nl" _complete command $cmd1 $cmd2 2>/dev/null) || return 0
    read -r kind max < <(sed -n "s/^args //p" <<<"$grammar")
    local long short vk
    while read -r _ long short vk; do
        options+=("$long")
        [[ $vk == - ]] && continue
        [[ $short == - ]] && short=$long
        takes_value+=("$long" "$short")
        if [[ $prev == "$long" || $prev == "$short" ]]; then
            value_kind=$vk
        fi
    done < <(grep '^option ' <<<"$grammar")

    # Positional arguments before the cursor, skipping option values.
    local n=0 ended=0 first="" t
    for ((i = cmd_at + 1; i < _nl_cword; i++)); do
        w=${_nl_words[i]}
        if ((!ended)) && [[ $w == -- ]]; then
            ended=1
        elif ((!ended)) && [[ $w == -* ]]; then
            for t in "${takes_value[@]}"; do
                [[ $t == "$w" ]] && { ((i++)); break; }
            done
        else
            ((n == 0)) && first=$w
            ((n++))
        fi
    done

    # The value of an option.
    if [[ -n $value_kind ]] && ((!ended)); then
        case $value_kind in
        file) _nestlab_reply_files "" "$cur" ;;
        dir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            ;;
        *"|"*) _nestlab_reply_words "${value_kind//|/$'\n'}" "$cur" ;;
        esac
        return 0
    fi
    if ((!ended)) && [[ $cur == -* ]]; then
        _nestlab_reply_words "$(printf '%s\n' "${options[@]}" --help)" "$cur"
        return 0
    fi
    # The kind is the first argument's, or every one's when there is no
    # limit; help's COMMAND may be two words.
    if [[ $kind != command ]] && ((max >= 0 && n > 0)); then
        return 0
    fi
    case $kind in
    template | plan) _nestlab_reply_files "*.xml" "$cur" ;;
    lab) _nestlab_reply_words "$("$nl" "${conn[@]}" status --names 2>/dev/null)" "$cur" ;;
    rollout) _nestlab_reply_words "$("$nl" rollout status --ids 2>/dev/null)" "$cur" ;;
    command)
        if ((n == 0)); then
            _nestlab_reply_words "$(sed 's/ .*//' <<<"$commands" | sort -u)" "$cur"
        elif ((n == 1)) && grep -qx -- "$first" <<<"$families"; then
            _nestlab_reply_words "$(sed -n "s/^$first //p" <<<"$commands")" "$cur"
        fi
        ;;
    esac
    return 0
}

complete -F _nestlab nestlab
