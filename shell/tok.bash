# tok shell integration for bash. Add to ~/.bashrc:
#
#     eval "$(tok init bash)"
#
# This text is printed by `tok init bash` and evaluated in your shell, so it must stay silent,
# must return 0, and must not leave helper variables behind. Everything is wrapped in one function
# that removes itself.

__tok_init() {
    # A copied snippet can outlive the binary (another node, a changed PATH): then do nothing.
    command -v tok >/dev/null 2>&1 || return 0

    # Start the agent in the background: probing the Secret Service alone may take seconds, and a
    # shell prompt must never wait for that. The subshell keeps the job out of bash's job table,
    # so no "[1] 1234" / "Done" lines appear. tok serialises start-up with a lock file, so a
    # command typed at once still finds exactly one agent. TOK_NO_AUTOSTART=1 means the user
    # wants no agent started for them (e.g. systemd socket activation): respect it here too.
    if [[ "${TOK_NO_AUTOSTART:-}" != 1 ]]; then
        (command tok agent start </dev/null >/dev/null 2>&1 &)
    fi

    # Completions: nothing runs at shell start. On the first TAB, __tok_complete loads the
    # completion script built into this tok (`tok completions bash`, always the binary's own
    # version) and adds what a static script cannot know: account names and login scopes from
    # the config file, and commands after `tok exec --`.
    complete -o bashdefault -o default -F __tok_complete tok
    return 0
}

# Account names and login scopes, read from tok's config file: no process, no agent.
__tok_config_file() {
    printf '%s' "${TOK_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/tok/config.toml}"
}
__tok_accounts() {
    sed -n 's/^\[accounts\.\(.*\)\]$/\1/p' "$(__tok_config_file)" 2>/dev/null | tr -d '"'
}
__tok_scopes() {
    sed -n 's/^scopes = \[\(.*\)\]$/\1/p' "$(__tok_config_file)" 2>/dev/null |
        tr -d '",' | tr ' ' '\n' | grep -v -e '^$' -e '^openid$' -e '^offline_access$' | sort -u
}

__tok_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i
    COMPREPLY=()
    # After `tok exec … --`: a command, then that command's own arguments (file names).
    if [[ ${COMP_WORDS[1]} == exec ]]; then
        for ((i = 2; i < COMP_CWORD; i++)); do
            [[ ${COMP_WORDS[i]} == -- ]] || continue
            if ((COMP_CWORD == i + 1)); then
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            fi
            return 0
        done
    fi
    case $prev in
        -a | --account)
            mapfile -t COMPREPLY < <(compgen -W "$(__tok_accounts)" -- "$cur")
            return 0
            ;;
        -s | --scope)
            mapfile -t COMPREPLY < <(compgen -W "$(__tok_scopes)" -- "$cur")
            return 0
            ;;
    esac
    if ((COMP_CWORD == 2)) && [[ $cur != -* && ${COMP_WORDS[1]} =~ ^(get|login|logout)$ ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(__tok_accounts)" -- "$cur")
        return 0
    fi
    if ! declare -F _tok >/dev/null; then
        eval "$(command tok completions bash 2>/dev/null)"
        # The script registers its own function for tok: keep this one in front of it.
        complete -o bashdefault -o default -F __tok_complete tok
    fi
    declare -F _tok >/dev/null && _tok "$@"
    return 0
}

# tok_use [tok env options]: point this shell at a fresh token file (BEARER_TOKEN_FILE).
# A function, not a script, because only the shell itself can change its own environment. The
# output is captured first so that a failing `tok env` (not logged in, agent down) changes
# nothing and its exit code reaches the caller.
tok_use() {
    local __tok_env
    __tok_env=$(command tok env --shell bash "$@") || return
    eval "$__tok_env"
}

__tok_init
unset -f __tok_init
