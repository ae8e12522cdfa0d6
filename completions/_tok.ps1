
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tok' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tok'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'tok' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a provider with the device-code flow and keep the refresh token in the agent')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print an access token for an account, scopes and audiences')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Write a token file for grid tools and print shell lines to `eval` that point at it')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with a token file that is kept fresh while the command runs')
            [CompletionResult]::new('delegate', 'delegate', [CompletionResultType]::ParameterValue, 'Write a job credential: a delegated, narrowed refresh token (RFC 8693 token exchange) that lets a long job renew its own tokens without an agent')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a job credential at the provider (RFC 7009) and remove its file')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Print the shell integration snippet: eval "$(tok init bash)"')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell (to install it: see the README, "Building")')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Revoke an account''s refresh token at the provider and forget it')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit trail: which process got which token, when (never token values)')
            [CompletionResult]::new('issuers', 'issuers', [CompletionResultType]::ParameterValue, 'List the issuer presets `tok login NAME` and `--issuer NAME` accept (built in, and $XDG_CONFIG_HOME/tok/issuers.toml)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Decode an access token (not verified) and check it against the WLCG token profile')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the runtime directory, the agent, the store and each account''s provider')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Give the agent the passphrase of the encrypted file store')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Make the agent forget the file store''s key and every cached access token')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Move logins between stores (e.g. to OpenBao, to share them between machines)')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Start, stop or inspect the background agent')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import accounts (and their refresh tokens) from oidc-agent''s account files')
            [CompletionResult]::new('oidc-agent-env', 'oidc-agent-env', [CompletionResultType]::ParameterValue, 'Print what `oidc-agent-service use` prints, pointing oidc-agent''s clients at tok''s agent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;login' {
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'OpenID Provider issuer URL, e.g. https://cms-auth.example.org/, or a preset name such as `wlcg` or `cms` (`tok issuers` lists them)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth2 client id; without it tok registers a client dynamically (RFC 7591)')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'File holding the client secret of a confidential client')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Extra scopes to request at login (repeatable or space-separated); `openid offline_access` are always requested')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Extra scopes to request at login (repeatable or space-separated); `openid offline_access` are always requested')
            [CompletionResult]::new('--audience-param', '--audience-param', [CompletionResultType]::ParameterName, 'How to ask this provider for an audience: RFC 8707 `resource` or `audience` (INDIGO IAM, Keycloak)')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Extra CA certificates (PEM) to trust for this provider, on top of the system store')
            [CompletionResult]::new('--lifetime', '--lifetime', [CompletionResultType]::ParameterName, 'Forget this login after DURATION (e.g. 12h, 7d): the agent then drops the refresh token and says so')
            [CompletionResult]::new('--flow', '--flow', [CompletionResultType]::ParameterName, 'How to log in [default: auto, or the flow the account used last]. `auto` opens the browser (authorization code with PKCE, answered on 127.0.0.1) on a desktop session (DISPLAY, WAYLAND_DISPLAY or macOS; not over ssh) when the provider and the client allow it, else shows a device code. $BROWSER, if set, opens the link; TOK_LOGIN_TIMEOUT (default 5m) is how long the browser may take')
            [CompletionResult]::new('--refresh-token-file', '--refresh-token-file', [CompletionResultType]::ParameterName, 'With --flow refresh: a file holding a refresh token obtained elsewhere (readable by you alone), or `-` for stdin; the provider must accept it before anything is stored')
            [CompletionResult]::new('--default', '--default', [CompletionResultType]::ParameterName, 'Make this the default account')
            [CompletionResult]::new('--no-qr', '--no-qr', [CompletionResultType]::ParameterName, 'Do not draw a QR code of the verification link')
            [CompletionResult]::new('--confirm', '--confirm', [CompletionResultType]::ParameterName, 'Ask for confirmation of each use of this account (through TOK_ASKPASS or SSH_ASKPASS); where nobody can be asked, requests are refused')
            [CompletionResult]::new('--no-confirm', '--no-confirm', [CompletionResultType]::ParameterName, 'Stop asking for confirmation of each use')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;get' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Account to use (default: the default account)')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Account to use (default: the default account)')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Pick the account by its issuer URL')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`')
            [CompletionResult]::new('--aud', '--aud', [CompletionResultType]::ParameterName, 'Audience to request (repeatable), e.g. https://se.example.org')
            [CompletionResult]::new('--min-valid', '--min-valid', [CompletionResultType]::ParameterName, 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Output: the bare token, JSON with metadata, or an HTTP Authorization header')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output: the bare token, JSON with metadata, or an HTTP Authorization header')
            [CompletionResult]::new('--exact-scope', '--exact-scope', [CompletionResultType]::ParameterName, 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Refresh at the provider even when a cached token would do')
            [CompletionResult]::new('--inspect', '--inspect', [CompletionResultType]::ParameterName, 'Also decode the token and check it against the WLCG profile, on stderr (stdout keeps only the token); see `tok inspect`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;env' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Account to use (default: the default account)')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Account to use (default: the default account)')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Pick the account by its issuer URL')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`')
            [CompletionResult]::new('--aud', '--aud', [CompletionResultType]::ParameterName, 'Audience to request (repeatable), e.g. https://se.example.org')
            [CompletionResult]::new('--min-valid', '--min-valid', [CompletionResultType]::ParameterName, 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)')
            [CompletionResult]::new('--shell', '--shell', [CompletionResultType]::ParameterName, 'Shell syntax to print (default: from $SHELL, else sh)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Write the token to this file instead of the WLCG discovery location ($XDG_RUNTIME_DIR/bt_u$UID, else /tmp/bt_u$UID)')
            [CompletionResult]::new('--purpose', '--purpose', [CompletionResultType]::ParameterName, 'Use the discovery location with a purpose suffix: …/bt_u$UID-PURPOSE')
            [CompletionResult]::new('--exact-scope', '--exact-scope', [CompletionResultType]::ParameterName, 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Refresh at the provider even when a cached token would do')
            [CompletionResult]::new('--inline', '--inline', [CompletionResultType]::ParameterName, 'Export only BEARER_TOKEN, no file (BEARER_TOKEN_FILE is unset)')
            [CompletionResult]::new('--file-only', '--file-only', [CompletionResultType]::ParameterName, 'Export only BEARER_TOKEN_FILE and unset BEARER_TOKEN. By default both are exported: gfal2 reads only the variable, the other clients follow discovery')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;exec' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Account to use (default: the default account)')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Account to use (default: the default account)')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Pick the account by its issuer URL')
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'Renew from this job credential (from `tok delegate`) instead of asking the agent: no socket, no agent, no store. Scopes and audiences default to the delegated ones and may only narrow them')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scope to request (repeatable, or a space-separated list). A bare WLCG storage scope such as `storage.read` means the whole namespace and is sent as `storage.read:/`')
            [CompletionResult]::new('--aud', '--aud', [CompletionResultType]::ParameterName, 'Audience to request (repeatable), e.g. https://se.example.org')
            [CompletionResult]::new('--min-valid', '--min-valid', [CompletionResultType]::ParameterName, 'Minimum remaining lifetime of the token, e.g. 60s, 10m (default 60s)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Token file to write (default: a private file …/bt_u$UID-exec-PID, removed afterwards)')
            [CompletionResult]::new('--exact-scope', '--exact-scope', [CompletionResultType]::ParameterName, 'Fail (exit 5) instead of warning when the provider grants wider scopes than asked (also `exact_scope = true` per account in config.toml)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Refresh at the provider even when a cached token would do')
            [CompletionResult]::new('--inline', '--inline', [CompletionResultType]::ParameterName, 'Also export BEARER_TOKEN, whatever the command (it cannot be renewed while the command runs). Done by default for clients that read only the variable (gfal-*)')
            [CompletionResult]::new('--file-only', '--file-only', [CompletionResultType]::ParameterName, 'Never export BEARER_TOKEN, even for a client that reads only the variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;delegate' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Account to delegate from (default: the default account)')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Account to delegate from (default: the default account)')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Pick the account by its issuer URL')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Scope the job may use (repeatable, or a space-separated list); default: the account''s login scopes. The job can ask for these or narrower ones, never wider')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scope the job may use (repeatable, or a space-separated list); default: the account''s login scopes. The job can ask for these or narrower ones, never wider')
            [CompletionResult]::new('--aud', '--aud', [CompletionResultType]::ParameterName, 'Audience the job may ask for (repeatable), e.g. https://se.example.org')
            [CompletionResult]::new('--lifetime', '--lifetime', [CompletionResultType]::ParameterName, 'How long the job may use the credential, e.g. 3d, 36h; the provider may allow less')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The credential file to write (0600, replaced atomically)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'The credential file to write (0600, replaced atomically)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;revoke' {
            [CompletionResult]::new('--credential', '--credential', [CompletionResultType]::ParameterName, 'The job credential to revoke; the file is removed once the provider has revoked it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;init' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;status' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output (a login''s end: `login_ends_at`, unix seconds, and `login_end_source`)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'One line per account: name, state, issuer, time left on its longest-lived token')
            [CompletionResult]::new('--short', '--short', [CompletionResultType]::ParameterName, 'One line per account: name, state, issuer, time left on its longest-lived token')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output (a login''s end: `login_ends_at`, unix seconds, and `login_end_source`)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'One line per account: name, state, issuer, time left on its longest-lived token')
            [CompletionResult]::new('--short', '--short', [CompletionResultType]::ParameterName, 'One line per account: name, state, issuer, time left on its longest-lived token')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;logout' {
            [CompletionResult]::new('--keep-remote', '--keep-remote', [CompletionResultType]::ParameterName, 'Do not revoke the refresh token at the provider; only forget it here')
            [CompletionResult]::new('--forget', '--forget', [CompletionResultType]::ParameterName, 'Also remove the account''s settings and client registration')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;audit' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events newer than this, e.g. 1h, 2d')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Only this account''s events')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Only this account''s events')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line, as logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;issuers' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;inspect' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the header, the claims and the findings as JSON (never the token itself)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;doctor' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;unlock' {
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from this file instead of asking')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;lock' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;store' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;store;migrate' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The store to copy the logins into: keyring, keyutils, file (passphrase from TOK_PASSPHRASE_FILE or asked) or openbao')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;store;help' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;store;help;migrate' {
            break
        }
        'tok;store;help;help' {
            break
        }
        'tok;agent' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the agent in the background unless it is running')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the running agent')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether the agent runs, and its pid, version and socket')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the agent (in the foreground with --foreground, as service managers want)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;agent;start' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where refresh tokens are kept')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;agent;stop' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;agent;status' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;agent;run' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where refresh tokens are kept: auto (keyring, else kernel keyring), keyring, keyutils, file (encrypted, for headless nodes) or memory')
            [CompletionResult]::new('--foreground', '--foreground', [CompletionResultType]::ParameterName, 'Stay in the foreground and log to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;agent;help' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the agent in the background unless it is running')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the running agent')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether the agent runs, and its pid, version and socket')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the agent (in the foreground with --foreground, as service managers want)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;agent;help;start' {
            break
        }
        'tok;agent;help;stop' {
            break
        }
        'tok;agent;help;status' {
            break
        }
        'tok;agent;help;run' {
            break
        }
        'tok;agent;help;help' {
            break
        }
        'tok;import' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Where the accounts come from')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'oidc-agent''s account directory (default: $OIDC_CONFIG_DIR, ~/.config/oidc-agent or ~/.oidc-agent, as oidc-agent looks)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the account files'' encryption password from this file (mode 0600; else TOK_ASKPASS or a terminal prompt)')
            [CompletionResult]::new('--retire', '--retire', [CompletionResultType]::ParameterName, 'After a successful import, rename each account file to NAME.imported-by-tok so oidc-agent stops using the same refresh token (nothing is revoked)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;oidc-agent-env' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tok;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a provider with the device-code flow and keep the refresh token in the agent')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print an access token for an account, scopes and audiences')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Write a token file for grid tools and print shell lines to `eval` that point at it')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with a token file that is kept fresh while the command runs')
            [CompletionResult]::new('delegate', 'delegate', [CompletionResultType]::ParameterValue, 'Write a job credential: a delegated, narrowed refresh token (RFC 8693 token exchange) that lets a long job renew its own tokens without an agent')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a job credential at the provider (RFC 7009) and remove its file')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Print the shell integration snippet: eval "$(tok init bash)"')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell (to install it: see the README, "Building")')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent, the store, accounts, when each login ends, and cached tokens (never token values)')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Revoke an account''s refresh token at the provider and forget it')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit trail: which process got which token, when (never token values)')
            [CompletionResult]::new('issuers', 'issuers', [CompletionResultType]::ParameterValue, 'List the issuer presets `tok login NAME` and `--issuer NAME` accept (built in, and $XDG_CONFIG_HOME/tok/issuers.toml)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Decode an access token (not verified) and check it against the WLCG token profile')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the runtime directory, the agent, the store and each account''s provider')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Give the agent the passphrase of the encrypted file store')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Make the agent forget the file store''s key and every cached access token')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Move logins between stores (e.g. to OpenBao, to share them between machines)')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Start, stop or inspect the background agent')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import accounts (and their refresh tokens) from oidc-agent''s account files')
            [CompletionResult]::new('oidc-agent-env', 'oidc-agent-env', [CompletionResultType]::ParameterValue, 'Print what `oidc-agent-service use` prints, pointing oidc-agent''s clients at tok''s agent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tok;help;login' {
            break
        }
        'tok;help;get' {
            break
        }
        'tok;help;env' {
            break
        }
        'tok;help;exec' {
            break
        }
        'tok;help;delegate' {
            break
        }
        'tok;help;revoke' {
            break
        }
        'tok;help;init' {
            break
        }
        'tok;help;completions' {
            break
        }
        'tok;help;status' {
            break
        }
        'tok;help;logout' {
            break
        }
        'tok;help;audit' {
            break
        }
        'tok;help;issuers' {
            break
        }
        'tok;help;inspect' {
            break
        }
        'tok;help;doctor' {
            break
        }
        'tok;help;unlock' {
            break
        }
        'tok;help;lock' {
            break
        }
        'tok;help;store' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every login (refresh tokens, client secrets, account definitions) into another store; then restart the agent on it. Nothing is deleted from the current store')
            break
        }
        'tok;help;store;migrate' {
            break
        }
        'tok;help;agent' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the agent in the background unless it is running')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the running agent')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether the agent runs, and its pid, version and socket')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the agent (in the foreground with --foreground, as service managers want)')
            break
        }
        'tok;help;agent;start' {
            break
        }
        'tok;help;agent;stop' {
            break
        }
        'tok;help;agent;status' {
            break
        }
        'tok;help;agent;run' {
            break
        }
        'tok;help;import' {
            break
        }
        'tok;help;oidc-agent-env' {
            break
        }
        'tok;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
