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

    # Completions: never generate anything at shell start. compinit already picked up an
    # installed _tok from $fpath; otherwise look in the usual places (and in the prefix tok was
    # installed into), which packagers and `make install`-style setups use but $fpath may lack.
    (( ${+_comps[tok]} )) && return 0
    local prefix=${commands[tok]:h:h} d found=
    for d in $fpath; do
        [[ -r $d/_tok ]] && { found=$d; break; }
    done
    if [[ -z $found ]]; then
        for d in \
            ${XDG_DATA_HOME:-$HOME/.local/share}/zsh/site-functions \
            $prefix/share/zsh/site-functions \
            /usr/local/share/zsh/site-functions \
            /usr/share/zsh/vendor-completions \
            /usr/share/zsh/site-functions; do
            if [[ -r $d/_tok ]]; then
                found=$d
                fpath=($d $fpath)
                break
            fi
        done
    fi
    # Without compinit there is no compdef; a later compinit still finds _tok through $fpath.
    (( $+functions[compdef] )) || return 0
    if [[ -n $found ]]; then
        autoload -Uz _tok
        compdef _tok tok
    else
        compdef __tok_complete_fallback tok
    fi
    return 0
}

# Used only when no _tok is installed: the subcommands, and file names everywhere else.
__tok_complete_fallback() {
    local -a cmds
    cmds=(
        'login:log in to a provider (device flow)'
        'get:print an access token'
        'env:write a token file and print shell lines to eval'
        'exec:run a command with a token file kept fresh'
        'init:print the shell integration snippet'
        'status:show the agent, store, accounts and cached tokens'
        'list:show the agent, store, accounts and cached tokens'
        'logout:revoke and forget a login'
        'unlock:give the agent the file store passphrase'
        'lock:forget the file store key and cached tokens'
        'agent:start, stop or inspect the agent'
        'help:print help'
    )
    if (( CURRENT == 2 )); then
        _describe -t commands 'tok command' cmds
    elif (( CURRENT == 3 )) && [[ $words[2] == agent ]]; then
        _values 'agent command' start stop status run
    elif (( CURRENT == 3 )) && [[ $words[2] == init ]]; then
        _values 'shell' bash zsh fish
    elif [[ $words[CURRENT-1] == --shell ]]; then
        _values 'shell' sh bash zsh fish csh tcsh
    else
        _files
    fi
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
