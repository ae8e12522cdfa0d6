
use builtin;
use str;

set edit:completion:arg-completer[tok] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'tok'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'tok'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand login 'Log in to a provider with the device-code flow and keep the refresh token in the agent'
            cand get 'Print an access token for an account, scopes and audiences'
            cand env 'Write a token file for grid tools and print shell lines to `eval` that point at it'
            cand exec 'Run a command with a token file that is kept fresh while the command runs'
            cand delegate 'Write a job credential: a delegated, narrowed refresh token (RFC 8693 token exchange) that lets a long job renew its own tokens without an agent'
            cand revoke 'Revoke a job credential at the provider (RFC 7009) and remove its file'
            cand init 'Print the shell integration snippet: eval "$(tok init bash)"'
            cand completions 'Print the completion script for a shell (to install it: see the README, "Building")'
            cand status 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)'
            cand list 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)'
            cand logout 'Revoke an account''s refresh token at the provider and forget it'
            cand audit 'Show the audit trail: which process got which token, when (never token values)'
            cand issuers 'List the issuer presets `tok login NAME` and `--issuer NAME` accept (built in, and $XDG_CONFIG_HOME/tok/issuers.toml)'
            cand inspect 'Decode an access token (not verified) and check it against the WLCG token profile'
            cand doctor 'Check the runtime directory, the agent, the store and each account''s provider'
            cand unlock 'Give the agent the passphrase of the encrypted file store'
            cand lock 'Make the agent forget the file store''s key and every cached access token'
            cand store 'Move logins between stores (e.g. to OpenBao, to share them between machines)'
            cand agent 'Start, stop or inspect the background agent'
            cand import 'Import accounts (and their refresh tokens) from oidc-agent''s account files'
            cand oidc-agent-env 'Print what `oidc-agent-service use` prints, pointing oidc-agent''s clients at tok''s agent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;login'= {
            cand --issuer 'OpenID Provider issuer URL, e.g. https://cms-auth.example.org/, or a preset name such as `wlcg` or `cms` (`tok issuers` lists them)'
            cand --client-id 'OAuth2 client id; without it tok registers a client dynamically (RFC 7591)'
            cand --client-secret-file 'File holding the client secret of a confidential client'
            cand -s 'Extra scopes to request at login (repeatable or space-separated); `openid offline_access` are always requested'
            cand --scope 'Extra scopes to request at login (repeatable or space-separated); `openid offline_access` are always requested'
            cand --audience-param 'How to ask this provider for an audience: RFC 8707 `resource` or `audience` (INDIGO IAM, Keycloak)'
            cand --ca-file 'Extra CA certificates (PEM) to trust for this provider, on top of the system store'
            cand --lifetime 'Forget this login after DURATION (e.g. 12h, 7d): the agent then drops the refresh token and says so'
            cand --flow 'How to log in [default: auto, or the flow the account used last]. `auto` opens the browser (authorization code with PKCE, answered on 127.0.0.1) on a desktop session (DISPLAY, WAYLAND_DISPLAY or macOS; not over ssh) when the provider and the client allow it, else shows a device code. $BROWSER, if set, opens the link; TOK_LOGIN_TIMEOUT (default 5m) is how long the browser may take'
            cand --refresh-token-file 'With --flow refresh: a file holding a refresh token obtained elsewhere (readable by you alone), or `-` for stdin; the provider must accept it before anything is stored'
            cand --default 'Make this the default account'
            cand --no-qr 'Do not draw a QR code of the verification link'
            cand --confirm 'Ask for confirmation of each use of this account (through TOK_ASKPASS or SSH_ASKPASS); where nobody can be asked, requests are refused'
            cand --no-confirm 'Stop asking for confirmation of each use'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;get'= {
            cand -a 'Account to use (default: the default account)'
            cand --account 'Account to use (default: the default account)'
            cand --issuer 'Pick the account by its issuer URL'
            cand --credential 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them'
            cand -s 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`'
            cand --scope 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`'
            cand --aud 'Audience to request (repeatable), e.g. https://se.example.org'
            cand --min-valid 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)'
            cand -f 'Output: the bare token, JSON with metadata, or an HTTP Authorization header'
            cand --format 'Output: the bare token, JSON with metadata, or an HTTP Authorization header'
            cand --exact-scope 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)'
            cand --force 'Refresh at the provider even when a cached token would do'
            cand --inspect 'Also decode the token and check it against the WLCG profile, on stderr (stdout keeps only the token); see `tok inspect`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;env'= {
            cand -a 'Account to use (default: the default account)'
            cand --account 'Account to use (default: the default account)'
            cand --issuer 'Pick the account by its issuer URL'
            cand --credential 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them'
            cand -s 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`'
            cand --scope 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`'
            cand --aud 'Audience to request (repeatable), e.g. https://se.example.org'
            cand --min-valid 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)'
            cand --shell 'Shell syntax to print (default: from $SHELL, else sh)'
            cand --file 'Write the token to this file instead of the WLCG discovery location ($XDG_RUNTIME_DIR/bt_u$UID, else /tmp/bt_u$UID)'
            cand --purpose 'Use the discovery location with a purpose suffix: …/bt_u$UID-PURPOSE'
            cand --exact-scope 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)'
            cand --force 'Refresh at the provider even when a cached token would do'
            cand --inline 'Export only BEARER_TOKEN, no file (BEARER_TOKEN_FILE is unset)'
            cand --file-only 'Export only BEARER_TOKEN_FILE and unset BEARER_TOKEN. By default both are exported: gfal2 reads only the variable, the other clients follow discovery'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;exec'= {
            cand -a 'Account to use (default: the default account)'
            cand --account 'Account to use (default: the default account)'
            cand --issuer 'Pick the account by its issuer URL'
            cand --credential 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them'
            cand -s 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`'
            cand --scope 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`'
            cand --aud 'Audience to request (repeatable), e.g. https://se.example.org'
            cand --min-valid 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)'
            cand --file 'Token file to write (default: a private file …/bt_u$UID-exec-PID, removed afterwards)'
            cand --exact-scope 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)'
            cand --force 'Refresh at the provider even when a cached token would do'
            cand --inline 'Also export BEARER_TOKEN, whatever the command (it cannot be renewed while the command runs). Done by default for clients that read only the variable (gfal-*)'
            cand --file-only 'Never export BEARER_TOKEN, even for a client that reads only the variable'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;delegate'= {
            cand -a 'Account to delegate from (default: the default account)'
            cand --account 'Account to delegate from (default: the default account)'
            cand --issuer 'Pick the account by its issuer URL'
            cand -s 'Scope the job may use (repeatable, or a space-separated list); default: the account''s login scopes. The job can ask for these or narrower ones, never wider'
            cand --scope 'Scope the job may use (repeatable, or a space-separated list); default: the account''s login scopes. The job can ask for these or narrower ones, never wider'
            cand --aud 'Audience the job may ask for (repeatable), e.g. https://se.example.org'
            cand --lifetime 'How long the job may use the credential, e.g. 3d, 36h; the provider may allow less'
            cand -o 'The credential file to write (0600, replaced atomically)'
            cand --out 'The credential file to write (0600, replaced atomically)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;revoke'= {
            cand --credential 'The job credential to revoke; the file is removed once the provider has revoked it'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;init'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;status'= {
            cand --json 'Machine-readable output (a login''s end: `login_ends_at`, unix seconds, and `login_end_source`)'
            cand -s 'One line per account: name, state, issuer, time left on its longest-lived token'
            cand --short 'One line per account: name, state, issuer, time left on its longest-lived token'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;list'= {
            cand --json 'Machine-readable output (a login''s end: `login_ends_at`, unix seconds, and `login_end_source`)'
            cand -s 'One line per account: name, state, issuer, time left on its longest-lived token'
            cand --short 'One line per account: name, state, issuer, time left on its longest-lived token'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;logout'= {
            cand --keep-remote 'Do not revoke the refresh token at the provider; only forget it here'
            cand --forget 'Also remove the account''s settings and client registration'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;audit'= {
            cand --since 'Only events newer than this, e.g. 1h, 2d'
            cand -a 'Only this account''s events'
            cand --account 'Only this account''s events'
            cand --json 'One JSON object per line, as logged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;issuers'= {
            cand --json 'Machine-readable output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;inspect'= {
            cand --json 'Print the header, the claims and the findings as JSON (never the token itself)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;doctor'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;unlock'= {
            cand --passphrase-file 'Read the passphrase from this file instead of asking'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;lock'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;store'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;store;migrate'= {
            cand --to 'The store to copy the logins into: keyring, keyutils, file (passphrase from TOK_PASSPHRASE_FILE or asked) or openbao'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;store;help'= {
            cand migrate 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;store;help;migrate'= {
        }
        &'tok;store;help;help'= {
        }
        &'tok;agent'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand start 'Start the agent in the background unless it is running'
            cand stop 'Stop the running agent'
            cand status 'Say whether the agent runs, and its pid, version and socket'
            cand run 'Run the agent (in the foreground with --foreground, as service managers want)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;agent;start'= {
            cand --store 'Where refresh tokens are kept'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;agent;stop'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;agent;status'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;agent;run'= {
            cand --store 'Where refresh tokens are kept: auto (keyring, else kernel keyring), keyring, keyutils, file (encrypted, for headless nodes) or memory'
            cand --foreground 'Stay in the foreground and log to stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;agent;help'= {
            cand start 'Start the agent in the background unless it is running'
            cand stop 'Stop the running agent'
            cand status 'Say whether the agent runs, and its pid, version and socket'
            cand run 'Run the agent (in the foreground with --foreground, as service managers want)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;agent;help;start'= {
        }
        &'tok;agent;help;stop'= {
        }
        &'tok;agent;help;status'= {
        }
        &'tok;agent;help;run'= {
        }
        &'tok;agent;help;help'= {
        }
        &'tok;import'= {
            cand --from 'Where the accounts come from'
            cand --dir 'oidc-agent''s account directory (default: $OIDC_CONFIG_DIR, ~/.config/oidc-agent or ~/.oidc-agent, as oidc-agent looks)'
            cand --password-file 'Read the account files'' encryption password from this file (mode 0600; else TOK_ASKPASS or a terminal prompt)'
            cand --retire 'After a successful import, rename each account file to NAME.imported-by-tok so oidc-agent stops using the same refresh token (nothing is revoked)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;oidc-agent-env'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tok;help'= {
            cand login 'Log in to a provider with the device-code flow and keep the refresh token in the agent'
            cand get 'Print an access token for an account, scopes and audiences'
            cand env 'Write a token file for grid tools and print shell lines to `eval` that point at it'
            cand exec 'Run a command with a token file that is kept fresh while the command runs'
            cand delegate 'Write a job credential: a delegated, narrowed refresh token (RFC 8693 token exchange) that lets a long job renew its own tokens without an agent'
            cand revoke 'Revoke a job credential at the provider (RFC 7009) and remove its file'
            cand init 'Print the shell integration snippet: eval "$(tok init bash)"'
            cand completions 'Print the completion script for a shell (to install it: see the README, "Building")'
            cand status 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)'
            cand logout 'Revoke an account''s refresh token at the provider and forget it'
            cand audit 'Show the audit trail: which process got which token, when (never token values)'
            cand issuers 'List the issuer presets `tok login NAME` and `--issuer NAME` accept (built in, and $XDG_CONFIG_HOME/tok/issuers.toml)'
            cand inspect 'Decode an access token (not verified) and check it against the WLCG token profile'
            cand doctor 'Check the runtime directory, the agent, the store and each account''s provider'
            cand unlock 'Give the agent the passphrase of the encrypted file store'
            cand lock 'Make the agent forget the file store''s key and every cached access token'
            cand store 'Move logins between stores (e.g. to OpenBao, to share them between machines)'
            cand agent 'Start, stop or inspect the background agent'
            cand import 'Import accounts (and their refresh tokens) from oidc-agent''s account files'
            cand oidc-agent-env 'Print what `oidc-agent-service use` prints, pointing oidc-agent''s clients at tok''s agent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;help;login'= {
        }
        &'tok;help;get'= {
        }
        &'tok;help;env'= {
        }
        &'tok;help;exec'= {
        }
        &'tok;help;delegate'= {
        }
        &'tok;help;revoke'= {
        }
        &'tok;help;init'= {
        }
        &'tok;help;completions'= {
        }
        &'tok;help;status'= {
        }
        &'tok;help;logout'= {
        }
        &'tok;help;audit'= {
        }
        &'tok;help;issuers'= {
        }
        &'tok;help;inspect'= {
        }
        &'tok;help;doctor'= {
        }
        &'tok;help;unlock'= {
        }
        &'tok;help;lock'= {
        }
        &'tok;help;store'= {
            cand migrate 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store'
        }
        &'tok;help;store;migrate'= {
        }
        &'tok;help;agent'= {
            cand start 'Start the agent in the background unless it is running'
            cand stop 'Stop the running agent'
            cand status 'Say whether the agent runs, and its pid, version and socket'
            cand run 'Run the agent (in the foreground with --foreground, as service managers want)'
        }
        &'tok;help;agent;start'= {
        }
        &'tok;help;agent;stop'= {
        }
        &'tok;help;agent;status'= {
        }
        &'tok;help;agent;run'= {
        }
        &'tok;help;import'= {
        }
        &'tok;help;oidc-agent-env'= {
        }
        &'tok;help;help'= {
        }
    ]
    $completions[$command]
}
