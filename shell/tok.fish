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
    # file needs nothing here. Otherwise try the prefix tok itself was installed into, and only
    # then define the subcommands by hand. Nothing is generated at shell start.
    set -l __tok_found
    for __tok_dir in $fish_complete_path
        if test -r "$__tok_dir/tok.fish"
            set __tok_found 1
            break
        end
    end
    set -e __tok_dir
    if not set -q __tok_found[1]
        set -l __tok_prefix (string replace -r '/[^/]*/[^/]*$' '' -- (command -s tok))
        for __tok_file in "$__tok_prefix/share/fish/vendor_completions.d/tok.fish" \
                "$__tok_prefix/share/fish/completions/tok.fish"
            if test -r "$__tok_file"
                source "$__tok_file"
                set __tok_found 1
                break
            end
        end
        set -e __tok_file
    end
    if not set -q __tok_found[1]
        complete -c tok -n __fish_use_subcommand -f \
            -a 'login get env exec init status list logout unlock lock agent help'
        complete -c tok -n '__fish_seen_subcommand_from agent' -f -a 'start stop status run'
        complete -c tok -n '__fish_seen_subcommand_from init' -f -a 'bash zsh fish'
        complete -c tok -l shell -x -a 'sh bash zsh fish csh tcsh'
    end
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
