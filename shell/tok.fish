# tok shell integration for fish. Add to ~/.config/fish/config.fish:
#
#     tok init fish | source
#
# This text is printed by `tok init fish` and sourced into your shell, so it must stay silent and
# must not leave helper variables behind (everything below is `set -l` inside the if block).

if command -q tok
    # Start the agent in the background: probing the Secret Service alone may take seconds, and a
    # prompt must never wait for that. sh forks it off and returns at once, so fish never sees a
    # job and never prints "Job 1 … has ended". tok serialises start-up with a lock file, so a
    # command typed at once still finds exactly one agent. TOK_NO_AUTOSTART=1 means the user
    # wants no agent started for them (e.g. systemd socket activation): respect it here too.
    if not set -q TOK_NO_AUTOSTART; or test "$TOK_NO_AUTOSTART" != 1
        command sh -c '"$0" agent start </dev/null >/dev/null 2>&1 &' (command -s tok)
    end

    # Completions: fish autoloads tok.fish from $fish_complete_path on first use, so an installed
    # file needs nothing here; otherwise the script built into this tok is loaded (one short
    # process). Account names and login scopes come from the config file, and commands after
    # `tok exec --` are completed as commands.
    set -l __tok_found
    for __tok_dir in $fish_complete_path
        if test -r "$__tok_dir/tok.fish"
            set __tok_found 1
            break
        end
    end
    set -e __tok_dir
    if not set -q __tok_found[1]
        command tok completions fish 2>/dev/null | source
    end
    complete -c tok -s a -l account -x -a '(__tok_accounts)'
    complete -c tok -s s -l scope -x -a '(__tok_scopes)'
    complete -c tok -n '__fish_seen_subcommand_from get login logout; and test (count (commandline -opc)) -eq 2' \
        -f -a '(__tok_accounts)'
    complete -c tok -n __tok_after_exec_dashes -x -a '(__fish_complete_subcommand --fcs-skip=(__tok_exec_skip))'
end

# Account names and login scopes, read from tok's config file: no process, no agent.
function __tok_config_file
    if set -q TOK_CONFIG; and test -n "$TOK_CONFIG"
        echo $TOK_CONFIG
    else if set -q XDG_CONFIG_HOME; and test -n "$XDG_CONFIG_HOME"
        echo $XDG_CONFIG_HOME/tok/config.toml
    else
        echo $HOME/.config/tok/config.toml
    end
end
function __tok_accounts
    sed -n 's/^\[accounts\.\(.*\)\]$/\1/p' (__tok_config_file) 2>/dev/null | string replace -a '"' ''
end
function __tok_scopes
    sed -n 's/^scopes = \[\(.*\)\]$/\1/p' (__tok_config_file) 2>/dev/null | string replace -ra '[",]' '' |
        string split ' ' | string match -v -r '^(|openid|offline_access)$' | sort -u
end
# True after `tok exec … --`; __tok_exec_skip says how many words precede the command.
function __tok_after_exec_dashes
    set -l words (commandline -opc)
    test "$words[2]" = exec; and contains -- -- $words
end
function __tok_exec_skip
    set -l words (commandline -opc)
    contains -i -- -- $words
end

# tok_use [tok env options]: point this shell at a fresh token file (BEARER_TOKEN_FILE).
# A function, not a script, because only the shell itself can change its own environment. The
# output is captured first so that a failing `tok env` (not logged in, agent down) changes
# nothing and its exit status reaches the caller.
function tok_use --description 'Point BEARER_TOKEN_FILE at a fresh token (tok env)'
    set -l __tok_env (command tok env --shell fish $argv)
    or return
    string join \n -- $__tok_env | source
end
