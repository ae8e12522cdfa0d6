# tok shell integration for zsh. Add to ~/.zshrc, after compinit:
#
#     eval "$(tok init zsh)"
#
# This text is printed by `tok init zsh` and evaluated in your shell, so it must stay silent,
# must return 0, and must not leave helper variables behind: everything runs in one function
# that removes itself, under `emulate -L zsh` so the user's options cannot change its meaning.

__tok_init() {
    emulate -L zsh
    # A copied snippet can outlive the binary (another node, a changed PATH): then do nothing.
    (( $+commands[tok] )) || return 0

    # Start the agent in the background: probing the Secret Service alone may take seconds, and a
    # prompt must never wait for that. The subshell keeps the job out of the job table, so no
    # "[1] 1234" / "done" lines appear. tok serialises start-up with a lock file, so a command
    # typed at once still finds exactly one agent. TOK_NO_AUTOSTART=1 means the user wants no
    # agent started for them (e.g. systemd socket activation): respect it here too.
    if [[ ${TOK_NO_AUTOSTART:-} != 1 ]]; then
        (command tok agent start </dev/null >/dev/null 2>&1 &)
    fi

    # Completions: nothing runs at shell start. On the first TAB, __tok_complete loads the
    # completion function built into this tok (`tok completions zsh`, always the binary's own
    # version) and adds what a static script cannot know: account names and login scopes from
    # the config file, and commands after `tok exec --`. Without compinit there is no compdef.
    (( $+functions[compdef] )) || return 0
    compdef __tok_complete tok
    return 0
}

# Account names and login scopes, read from tok's config file: no process, no agent.
__tok_accounts() {
    local f=${TOK_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/tok/config.toml}
    [[ -r $f ]] || return 0
    sed -n 's/^\[accounts\.\(.*\)\]$/\1/p' $f | tr -d '"'
}
__tok_scopes() {
    local f=${TOK_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/tok/config.toml}
    [[ -r $f ]] || return 0
    sed -n 's/^scopes = \[\(.*\)\]$/\1/p' $f | tr -d '",' | tr ' ' '\n' |
        grep -v -e '^$' -e '^openid$' -e '^offline_access$' | sort -u
}

__tok_complete() {
    local i
    if [[ $words[2] == exec ]]; then
        for (( i = 3; i < CURRENT; i++ )); do
            if [[ $words[i] == -- ]]; then
                shift $i words
                (( CURRENT -= i ))
                _normal
                return
            fi
        done
    fi
    case $words[CURRENT-1] in
        (-a|--account) compadd -- ${(f)"$(__tok_accounts)"}; return ;;
        (-s|--scope) compadd -- ${(f)"$(__tok_scopes)"}; return ;;
    esac
    if (( CURRENT == 3 )) && [[ $words[2] == (get|login|logout) && $PREFIX != -* ]]; then
        compadd -- ${(f)"$(__tok_accounts)"}
        return
    fi
    if (( ! $+functions[_tok] )); then
        eval "$(command tok completions zsh 2>/dev/null)"
        # The script registers _tok for tok: keep this function in front of it.
        compdef __tok_complete tok
    fi
    (( $+functions[_tok] )) && _tok "$@"
}

# tok_use [tok env options]: point this shell at a fresh token file (BEARER_TOKEN_FILE).
# A function, not a script, because only the shell itself can change its own environment. The
# output is captured first so that a failing `tok env` (not logged in, agent down) changes
# nothing and its exit code reaches the caller.
tok_use() {
    local __tok_env
    __tok_env=$(command tok env --shell zsh "$@") || return
    eval "$__tok_env"
}

__tok_init
unfunction __tok_init
