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

    # Completions: never generate anything at shell start (that costs a process per shell).
    # bash-completion (if loaded) lazy-loads installed files by itself; otherwise source an
    # installed file from the usual places, including the prefix tok itself was installed into.
    complete -p tok >/dev/null 2>&1 && return 0
    local tok_bin prefix f
    tok_bin=$(command -v tok)
    prefix=${tok_bin%/*}
    prefix=${prefix%/*}
    for f in \
        "${BASH_COMPLETION_USER_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion}/completions/tok" \
        "$prefix/share/bash-completion/completions/tok" \
        /usr/local/share/bash-completion/completions/tok \
        /usr/share/bash-completion/completions/tok \
        /etc/bash_completion.d/tok; do
        if [[ -r "$f" ]]; then
            # shellcheck disable=SC1090
            . "$f" >/dev/null 2>&1
            complete -p tok >/dev/null 2>&1 && return 0
        fi
    done

    # Nothing installed: complete at least the subcommands, and file names everywhere else.
    complete -o bashdefault -o default -F __tok_complete_fallback tok
    return 0
}

__tok_complete_fallback() {
    local cur=${COMP_WORDS[COMP_CWORD]} words=""
    if [[ $COMP_CWORD -eq 1 ]]; then
        words="login get env exec init status list logout unlock lock agent help"
    elif [[ $COMP_CWORD -eq 2 && ${COMP_WORDS[1]} == agent ]]; then
        words="start stop status run"
    elif [[ $COMP_CWORD -eq 2 && ${COMP_WORDS[1]} == init ]]; then
        words="bash zsh fish"
    elif [[ ${COMP_WORDS[COMP_CWORD-1]} == --shell ]]; then
        words="sh bash zsh fish csh tcsh"
    fi
    COMPREPLY=()
    [[ -n "$words" ]] && mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
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
