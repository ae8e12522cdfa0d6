# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tok_global_optspecs
    string join \n h/help V/version
end

function __fish_tok_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tok_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tok_using_subcommand
    set -l cmd (__fish_tok_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tok -n "__fish_tok_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_needs_command" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_needs_command" -f -a "login" -d 'Log in to a provider with the device-code flow and keep the refresh token in the agent'
complete -c tok -n "__fish_tok_needs_command" -f -a "get" -d 'Print an access token for an account, scopes and audiences'
complete -c tok -n "__fish_tok_needs_command" -f -a "env" -d 'Write a token file for grid tools and print shell lines to `eval` that point at it'
complete -c tok -n "__fish_tok_needs_command" -f -a "exec" -d 'Run a command with a token file that is kept fresh while the command runs'
complete -c tok -n "__fish_tok_needs_command" -f -a "delegate" -d 'Write a job credential: a delegated, narrowed refresh token (RFC 8693 token exchange) that lets a long job renew its own tokens without an agent'
complete -c tok -n "__fish_tok_needs_command" -f -a "revoke" -d 'Revoke a job credential at the provider (RFC 7009) and remove its file'
complete -c tok -n "__fish_tok_needs_command" -f -a "init" -d 'Print the shell integration snippet: eval "$(tok init bash)"'
complete -c tok -n "__fish_tok_needs_command" -f -a "completions" -d 'Print the completion script for a shell (to install it: see the README, "Building")'
complete -c tok -n "__fish_tok_needs_command" -f -a "status" -d 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)'
complete -c tok -n "__fish_tok_needs_command" -f -a "list" -d 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)'
complete -c tok -n "__fish_tok_needs_command" -f -a "logout" -d 'Revoke an account\'s refresh token at the provider and forget it'
complete -c tok -n "__fish_tok_needs_command" -f -a "audit" -d 'Show the audit trail: which process got which token, when (never token values)'
complete -c tok -n "__fish_tok_needs_command" -f -a "issuers" -d 'List the issuer presets `tok login NAME` and `--issuer NAME` accept (built in, and $XDG_CONFIG_HOME/tok/issuers.toml)'
complete -c tok -n "__fish_tok_needs_command" -f -a "inspect" -d 'Decode an access token (not verified) and check it against the WLCG token profile'
complete -c tok -n "__fish_tok_needs_command" -f -a "doctor" -d 'Check the runtime directory, the agent, the store and each account\'s provider'
complete -c tok -n "__fish_tok_needs_command" -f -a "unlock" -d 'Give the agent the passphrase of the encrypted file store'
complete -c tok -n "__fish_tok_needs_command" -f -a "lock" -d 'Make the agent forget the file store\'s key and every cached access token'
complete -c tok -n "__fish_tok_needs_command" -f -a "store" -d 'Move logins between stores (e.g. to OpenBao, to share them between machines)'
complete -c tok -n "__fish_tok_needs_command" -f -a "agent" -d 'Start, stop or inspect the background agent'
complete -c tok -n "__fish_tok_needs_command" -f -a "import" -d 'Import accounts (and their refresh tokens) from oidc-agent\'s account files'
complete -c tok -n "__fish_tok_needs_command" -f -a "oidc-agent-env" -d 'Print what `oidc-agent-service use` prints, pointing oidc-agent\'s clients at tok\'s agent'
complete -c tok -n "__fish_tok_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tok -n "__fish_tok_using_subcommand login" -l issuer -d 'OpenID Provider issuer URL, e.g. https://cms-auth.example.org/, or a preset name such as `wlcg` or `cms` (`tok issuers` lists them)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l client-id -d 'OAuth2 client id; without it tok registers a client dynamically (RFC 7591)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l client-secret-file -d 'File holding the client secret of a confidential client' -r -F
complete -c tok -n "__fish_tok_using_subcommand login" -s s -l scope -d 'Extra scopes to request at login (repeatable or space-separated); `openid offline_access` are always requested' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l audience-param -d 'How to ask this provider for an audience: RFC 8707 `resource` or `audience` (INDIGO IAM, Keycloak)' -r -f -a "resource\t'RFC 8707 `resource=` (one parameter per audience)'
audience\t'The older `audience=` parameter (INDIGO IAM, Keycloak)'"
complete -c tok -n "__fish_tok_using_subcommand login" -l ca-file -d 'Extra CA certificates (PEM) to trust for this provider, on top of the system store' -r -F
complete -c tok -n "__fish_tok_using_subcommand login" -l lifetime -d 'Forget this login after DURATION (e.g. 12h, 7d): the agent then drops the refresh token and says so' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l flow -d 'How to log in [default: auto, or the flow the account used last]. `auto` opens the browser (authorization code with PKCE, answered on 127.0.0.1) on a desktop session (DISPLAY, WAYLAND_DISPLAY or macOS; not over ssh) when the provider and the client allow it, else shows a device code. $BROWSER, if set, opens the link; TOK_LOGIN_TIMEOUT (default 5m) is how long the browser may take' -r -f -a "auto\t'The browser on a desktop session when the provider and the client allow it, else a device code'
code\t'Authorization code with PKCE: a browser opens, the answer comes back to 127.0.0.1'
device\t'A device code to enter at the provider, from any machine (RFC 8628)'
refresh\t'A refresh token obtained elsewhere, read from --refresh-token-file (a file or stdin)'"
complete -c tok -n "__fish_tok_using_subcommand login" -l refresh-token-file -d 'With --flow refresh: a file holding a refresh token obtained elsewhere (readable by you alone), or `-` for stdin; the provider must accept it before anything is stored' -r -F
complete -c tok -n "__fish_tok_using_subcommand login" -l default -d 'Make this the default account'
complete -c tok -n "__fish_tok_using_subcommand login" -l no-qr -d 'Do not draw a QR code of the verification link'
complete -c tok -n "__fish_tok_using_subcommand login" -l confirm -d 'Ask for confirmation of each use of this account (through TOK_ASKPASS or SSH_ASKPASS); where nobody can be asked, requests are refused'
complete -c tok -n "__fish_tok_using_subcommand login" -l no-confirm -d 'Stop asking for confirmation of each use'
complete -c tok -n "__fish_tok_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand login" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand get" -s a -l account -d 'Account to use (default: the default account)' -r
complete -c tok -n "__fish_tok_using_subcommand get" -l issuer -d 'Pick the account by its issuer URL' -r
complete -c tok -n "__fish_tok_using_subcommand get" -l credential -d 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them' -r -F
complete -c tok -n "__fish_tok_using_subcommand get" -s s -l scope -d 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`' -r
complete -c tok -n "__fish_tok_using_subcommand get" -l aud -d 'Audience to request (repeatable), e.g. https://se.example.org' -r
complete -c tok -n "__fish_tok_using_subcommand get" -l min-valid -d 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)' -r
complete -c tok -n "__fish_tok_using_subcommand get" -s f -l format -d 'Output: the bare token, JSON with metadata, or an HTTP Authorization header' -r -f -a "token\t'The token and a newline'
json\t'token, expires_at, scope, audience, account, issuer'
header\t'`Authorization: Bearer <token>`'
env\t'`BEARER_TOKEN=<token>` and `BEARER_TOKEN_EXPIRES_AT=<unix seconds>` lines, for env files and `env $(tok get -f env) CMD`'"
complete -c tok -n "__fish_tok_using_subcommand get" -l exact-scope -d 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)'
complete -c tok -n "__fish_tok_using_subcommand get" -l force -d 'Refresh at the provider even when a cached token would do'
complete -c tok -n "__fish_tok_using_subcommand get" -l inspect -d 'Also decode the token and check it against the WLCG profile, on stderr (stdout keeps only the token); see `tok inspect`'
complete -c tok -n "__fish_tok_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand get" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand env" -s a -l account -d 'Account to use (default: the default account)' -r
complete -c tok -n "__fish_tok_using_subcommand env" -l issuer -d 'Pick the account by its issuer URL' -r
complete -c tok -n "__fish_tok_using_subcommand env" -l credential -d 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them' -r -F
complete -c tok -n "__fish_tok_using_subcommand env" -s s -l scope -d 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`' -r
complete -c tok -n "__fish_tok_using_subcommand env" -l aud -d 'Audience to request (repeatable), e.g. https://se.example.org' -r
complete -c tok -n "__fish_tok_using_subcommand env" -l min-valid -d 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)' -r
complete -c tok -n "__fish_tok_using_subcommand env" -l shell -d 'Shell syntax to print (default: from $SHELL, else sh)' -r -f -a "sh\t''
bash\t''
zsh\t''
fish\t''
csh\t''
tcsh\t''"
complete -c tok -n "__fish_tok_using_subcommand env" -l file -d 'Write the token to this file instead of the WLCG discovery location ($XDG_RUNTIME_DIR/bt_u$UID, else /tmp/bt_u$UID)' -r -F
complete -c tok -n "__fish_tok_using_subcommand env" -l purpose -d 'Use the discovery location with a purpose suffix: …/bt_u$UID-PURPOSE' -r
complete -c tok -n "__fish_tok_using_subcommand env" -l exact-scope -d 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)'
complete -c tok -n "__fish_tok_using_subcommand env" -l force -d 'Refresh at the provider even when a cached token would do'
complete -c tok -n "__fish_tok_using_subcommand env" -l inline -d 'Export only BEARER_TOKEN, no file (BEARER_TOKEN_FILE is unset)'
complete -c tok -n "__fish_tok_using_subcommand env" -l file-only -d 'Export only BEARER_TOKEN_FILE and unset BEARER_TOKEN. By default both are exported: gfal2 reads only the variable, the other clients follow discovery'
complete -c tok -n "__fish_tok_using_subcommand env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand env" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand exec" -s a -l account -d 'Account to use (default: the default account)' -r
complete -c tok -n "__fish_tok_using_subcommand exec" -l issuer -d 'Pick the account by its issuer URL' -r
complete -c tok -n "__fish_tok_using_subcommand exec" -l credential -d 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them' -r -F
complete -c tok -n "__fish_tok_using_subcommand exec" -s s -l scope -d 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`' -r
complete -c tok -n "__fish_tok_using_subcommand exec" -l aud -d 'Audience to request (repeatable), e.g. https://se.example.org' -r
complete -c tok -n "__fish_tok_using_subcommand exec" -l min-valid -d 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)' -r
complete -c tok -n "__fish_tok_using_subcommand exec" -l file -d 'Token file to write (default: a private file …/bt_u$UID-exec-PID, removed afterwards)' -r -F
complete -c tok -n "__fish_tok_using_subcommand exec" -l exact-scope -d 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)'
complete -c tok -n "__fish_tok_using_subcommand exec" -l force -d 'Refresh at the provider even when a cached token would do'
complete -c tok -n "__fish_tok_using_subcommand exec" -l inline -d 'Also export BEARER_TOKEN, whatever the command (it cannot be renewed while the command runs). Done by default for clients that read only the variable (gfal-*)'
complete -c tok -n "__fish_tok_using_subcommand exec" -l file-only -d 'Never export BEARER_TOKEN, even for a client that reads only the variable'
complete -c tok -n "__fish_tok_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand exec" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand delegate" -s a -l account -d 'Account to delegate from (default: the default account)' -r
complete -c tok -n "__fish_tok_using_subcommand delegate" -l issuer -d 'Pick the account by its issuer URL' -r
complete -c tok -n "__fish_tok_using_subcommand delegate" -s s -l scope -d 'Scope the job may use (repeatable, or a space-separated list); default: the account\'s login scopes. The job can ask for these or narrower ones, never wider' -r
complete -c tok -n "__fish_tok_using_subcommand delegate" -l aud -d 'Audience the job may ask for (repeatable), e.g. https://se.example.org' -r
complete -c tok -n "__fish_tok_using_subcommand delegate" -l lifetime -d 'How long the job may use the credential, e.g. 3d, 36h; the provider may allow less' -r
complete -c tok -n "__fish_tok_using_subcommand delegate" -s o -l out -d 'The credential file to write (0600, replaced atomically)' -r -F
complete -c tok -n "__fish_tok_using_subcommand delegate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand delegate" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand revoke" -l credential -d 'The job credential to revoke; the file is removed once the provider has revoked it' -r -F
complete -c tok -n "__fish_tok_using_subcommand revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand init" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand completions" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand completions" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand status" -l json -d 'Machine-readable output (a login\'s end: `login_ends_at`, unix seconds, and `login_end_source`)'
complete -c tok -n "__fish_tok_using_subcommand status" -s s -l short -d 'One line per account: name, state, issuer, time left on its longest-lived token'
complete -c tok -n "__fish_tok_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand status" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand list" -l json -d 'Machine-readable output (a login\'s end: `login_ends_at`, unix seconds, and `login_end_source`)'
complete -c tok -n "__fish_tok_using_subcommand list" -s s -l short -d 'One line per account: name, state, issuer, time left on its longest-lived token'
complete -c tok -n "__fish_tok_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand list" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand logout" -l keep-remote -d 'Do not revoke the refresh token at the provider; only forget it here'
complete -c tok -n "__fish_tok_using_subcommand logout" -l forget -d 'Also remove the account\'s settings and client registration'
complete -c tok -n "__fish_tok_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand logout" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand audit" -l since -d 'Only events newer than this, e.g. 1h, 2d' -r
complete -c tok -n "__fish_tok_using_subcommand audit" -s a -l account -d 'Only this account\'s events' -r
complete -c tok -n "__fish_tok_using_subcommand audit" -l json -d 'One JSON object per line, as logged'
complete -c tok -n "__fish_tok_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand audit" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand issuers" -l json -d 'Machine-readable output'
complete -c tok -n "__fish_tok_using_subcommand issuers" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand issuers" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand inspect" -l json -d 'Print the header, the claims and the findings as JSON (never the token itself)'
complete -c tok -n "__fish_tok_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand unlock" -l passphrase-file -d 'Read the passphrase from this file instead of asking' -r -F
complete -c tok -n "__fish_tok_using_subcommand unlock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand unlock" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand lock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand lock" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand store; and not __fish_seen_subcommand_from migrate help" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand store; and not __fish_seen_subcommand_from migrate help" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand store; and not __fish_seen_subcommand_from migrate help" -f -a "migrate" -d 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store'
complete -c tok -n "__fish_tok_using_subcommand store; and not __fish_seen_subcommand_from migrate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tok -n "__fish_tok_using_subcommand store; and __fish_seen_subcommand_from migrate" -l to -d 'The store to copy the logins into: keyring, keyutils, file (passphrase from TOK_PASSPHRASE_FILE or asked) or openbao' -r -f -a "auto\t''
keyring\t''
keyutils\t''
file\t''
memory\t''
openbao\t'OpenBao or HashiCorp Vault (KV version 2), shared by every node; `vault` is an alias'"
complete -c tok -n "__fish_tok_using_subcommand store; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand store; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store'
complete -c tok -n "__fish_tok_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tok -n "__fish_tok_using_subcommand agent; and not __fish_seen_subcommand_from start stop status run help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand agent; and not __fish_seen_subcommand_from start stop status run help" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand agent; and not __fish_seen_subcommand_from start stop status run help" -f -a "start" -d 'Start the agent in the background unless it is running'
complete -c tok -n "__fish_tok_using_subcommand agent; and not __fish_seen_subcommand_from start stop status run help" -f -a "stop" -d 'Stop the running agent'
complete -c tok -n "__fish_tok_using_subcommand agent; and not __fish_seen_subcommand_from start stop status run help" -f -a "status" -d 'Say whether the agent runs, and its pid, version and socket'
complete -c tok -n "__fish_tok_using_subcommand agent; and not __fish_seen_subcommand_from start stop status run help" -f -a "run" -d 'Run the agent (in the foreground with --foreground, as service managers want)'
complete -c tok -n "__fish_tok_using_subcommand agent; and not __fish_seen_subcommand_from start stop status run help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from start" -l store -d 'Where refresh tokens are kept' -r -f -a "auto\t''
keyring\t''
keyutils\t''
file\t''
memory\t''
openbao\t'OpenBao or HashiCorp Vault (KV version 2), shared by every node; `vault` is an alias'"
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from start" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from stop" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from run" -l store -d 'Where refresh tokens are kept: auto (keyring, else kernel keyring), keyring, keyutils, file (encrypted, for headless nodes) or memory' -r -f -a "auto\t''
keyring\t''
keyutils\t''
file\t''
memory\t''
openbao\t'OpenBao or HashiCorp Vault (KV version 2), shared by every node; `vault` is an alias'"
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from run" -l foreground -d 'Stay in the foreground and log to stderr'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start the agent in the background unless it is running'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop the running agent'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "status" -d 'Say whether the agent runs, and its pid, version and socket'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "run" -d 'Run the agent (in the foreground with --foreground, as service managers want)'
complete -c tok -n "__fish_tok_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tok -n "__fish_tok_using_subcommand import" -l from -d 'Where the accounts come from' -r -f -a "oidc-agent\t'oidc-agent\'s password-encrypted account files (`oidc-gen`\'s output, 2.1 or newer)'"
complete -c tok -n "__fish_tok_using_subcommand import" -l dir -d 'oidc-agent\'s account directory (default: $OIDC_CONFIG_DIR, ~/.config/oidc-agent or ~/.oidc-agent, as oidc-agent looks)' -r -F
complete -c tok -n "__fish_tok_using_subcommand import" -l password-file -d 'Read the account files\' encryption password from this file (mode 0600; else TOK_ASKPASS or a terminal prompt)' -r -F
complete -c tok -n "__fish_tok_using_subcommand import" -l retire -d 'After a successful import, rename each account file to NAME.imported-by-tok so oidc-agent stops using the same refresh token (nothing is revoked)'
complete -c tok -n "__fish_tok_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand import" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand oidc-agent-env" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand oidc-agent-env" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "login" -d 'Log in to a provider with the device-code flow and keep the refresh token in the agent'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "get" -d 'Print an access token for an account, scopes and audiences'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "env" -d 'Write a token file for grid tools and print shell lines to `eval` that point at it'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "exec" -d 'Run a command with a token file that is kept fresh while the command runs'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "delegate" -d 'Write a job credential: a delegated, narrowed refresh token (RFC 8693 token exchange) that lets a long job renew its own tokens without an agent'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "revoke" -d 'Revoke a job credential at the provider (RFC 7009) and remove its file'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "init" -d 'Print the shell integration snippet: eval "$(tok init bash)"'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "completions" -d 'Print the completion script for a shell (to install it: see the README, "Building")'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "status" -d 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "logout" -d 'Revoke an account\'s refresh token at the provider and forget it'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "audit" -d 'Show the audit trail: which process got which token, when (never token values)'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "issuers" -d 'List the issuer presets `tok login NAME` and `--issuer NAME` accept (built in, and $XDG_CONFIG_HOME/tok/issuers.toml)'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "inspect" -d 'Decode an access token (not verified) and check it against the WLCG token profile'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "doctor" -d 'Check the runtime directory, the agent, the store and each account\'s provider'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "unlock" -d 'Give the agent the passphrase of the encrypted file store'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "lock" -d 'Make the agent forget the file store\'s key and every cached access token'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "store" -d 'Move logins between stores (e.g. to OpenBao, to share them between machines)'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "agent" -d 'Start, stop or inspect the background agent'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "import" -d 'Import accounts (and their refresh tokens) from oidc-agent\'s account files'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "oidc-agent-env" -d 'Print what `oidc-agent-service use` prints, pointing oidc-agent\'s clients at tok\'s agent'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login get env exec delegate revoke init completions status logout audit issuers inspect doctor unlock lock store agent import oidc-agent-env help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tok -n "__fish_tok_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "migrate" -d 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store'
complete -c tok -n "__fish_tok_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "start" -d 'Start the agent in the background unless it is running'
complete -c tok -n "__fish_tok_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "stop" -d 'Stop the running agent'
complete -c tok -n "__fish_tok_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "status" -d 'Say whether the agent runs, and its pid, version and socket'
complete -c tok -n "__fish_tok_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "run" -d 'Run the agent (in the foreground with --foreground, as service managers want)'
