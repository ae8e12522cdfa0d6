//! The text after each command's `--help`, and the EXAMPLES, ENVIRONMENT, EXIT STATUS and
//! FILES sections of the man pages, which `tests/generated.rs` makes from it. The layout is
//! what the generator reads: a section starts with an unindented `Title:` line after a blank
//! line; an entry is a line indented two spaces, its name and text parted by two or more
//! spaces, continued on lines indented further; an unindented line is a paragraph; every
//! line of `Examples:` is shown as it is.

pub const TOK: &str = "\
Examples:
  tok login cms --issuer https://cms-auth.example.org/ --scope storage.read
  tok get -s storage.read:/store --aud https://se.example.org
  tok get -s storage.read:/store | tok inspect    # what the token says
  eval \"$(tok env -s storage.read:/store)\"        # a token file for grid tools
  tok exec -s compute.create -- ./job.sh         # kept fresh while it runs
  tok status
  tok doctor                                     # when something does not work

Environment:
  TOK_SOCKET              agent socket (default $XDG_RUNTIME_DIR/tok/agent.sock,
                          else ${TMPDIR:-/tmp}/tok-$UID/agent.sock); its directory
                          holds the lock file and log and must be private (0700)
  TOK_NO_AUTOSTART=1      never start the agent on demand (commands fail, exit 6)
  TOK_STORE               store of an agent started on demand: auto, keyring,
                          keyutils, file or memory
  TOK_PASSPHRASE_FILE     file holding the passphrase of the encrypted file store
  TOK_LOG                 agent log level: error, warn, info (default), debug,
                          trace, off
  TOK_HTTP_TIMEOUT        provider request timeout in seconds (default 30)
  TOK_LOGIN_TIMEOUT       how long `tok login`'s browser flow waits (default 5m)
  BROWSER                 program `tok login` opens the sign-in page with (else
                          xdg-open or open on a desktop)
  TOK_CONFIG              configuration file (default
                          $XDG_CONFIG_HOME/tok/config.toml)
  TOK_ASKPASS             (agent) program that confirms each use of a --confirm
                          account; SSH_ASKPASS on a desktop otherwise
  SSL_CERT_FILE           CA bundle used instead of the system store (an account's
                          --ca-file adds to it)
  TOK_STORE_NAMESPACE     keeps several setups of one uid apart in the kernel keyring
  TOK_KEYRING_TIMEOUT_MS  how long the Secret Service may take to answer (default
                          2000)
  XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_DATA_HOME, TMPDIR
                          base directories (see Files)

Exit status:
  0    success
  1    error: I/O, configuration file, internal
  2    usage: bad arguments, unknown account, invalid scope, malformed token
  3    login needed: `tok login NAME`; or a job credential past not_after,
       revoked or no longer accepted
  4    provider unavailable (network, timeout, 5xx): the login is kept; retry
  5    refused: login denied or not finished in time, a client without the
       grant a flow needs, scope or audience refused, revocation refused,
       a request wider than a job credential allows
  6    agent unreachable: `tok agent start`, and see agent.log
  7    store locked, or the agent locked by `tok lock`: `tok unlock`
  130  interrupted
`tok exec` exits with its command's code instead, and `tok doctor` with 1 when a
check failed (see their pages)

Files:
  $XDG_RUNTIME_DIR/tok/
       runtime directory, 0700 (else ${TMPDIR:-/tmp}/tok-$UID/; with TOK_SOCKET,
       its directory): agent.sock (0600), agent.lock, agent.log
  $XDG_CONFIG_HOME/tok/config.toml
       accounts and settings, never secrets (~/.config/tok/config.toml)
  $XDG_CONFIG_HOME/tok/issuers.toml
       your issuer presets (`tok issuers`)
  $XDG_DATA_HOME/tok/secrets.enc
       the encrypted file store (~/.local/share/tok/secrets.enc)
  $XDG_DATA_HOME/tok/audit.log
       the audit trail (`tok audit`): 0600, JSON lines, no tokens
  $XDG_DATA_HOME/tok/delegations.json
       job credentials the agent delegated (ids, scopes; no tokens)
  $XDG_DATA_HOME/tok/login-warnings.json
       when each login's coming end was last warned about (once a day)";

pub const LOGIN: &str = "\
Examples:
  tok login cms                                  # the `cms` preset (tok issuers)
  tok login cms --issuer https://cms-auth.example.org/
  tok login atlas --issuer https://atlas-auth.example.org/ \\
      --client-id my-client --client-secret-file ~/.config/tok/atlas.secret \\
      --scope \"storage.read:/atlas storage.modify:/atlas/user/me\" \\
      --audience-param audience
  tok login site --issuer https://iam.site.example/ --ca-file /etc/site-ca.pem
  tok login cms --lifetime 12h --confirm
  tok login cms --flow device                    # a device code even on a desktop
  tok login ops --client-id batch --flow refresh --refresh-token-file ~/rt";

pub const GET: &str = "\
Examples:
  tok get
  tok get -a cms -s storage.read:/store --aud https://se.example.org
  tok get -s storage.read --min-valid 30m
  tok get -f header --aud https://se.example.org   # Authorization: Bearer …
  tok get -s storage.read:/store --inspect         # claims and findings on stderr
  tok get --credential job.cred -s storage.read:/store/data/run1";

pub const ENV: &str = "\
Examples:
  eval \"$(tok env -s storage.read:/store --aud https://se.example.org)\"
  eval \"$(tok env --purpose fife-CMS -s storage.read)\"
  eval \"$(tok env --inline -s compute.create --aud https://ce.example.org)\"
  tok env --shell fish -s storage.read | source";

pub const EXEC: &str = "\
Examples:
  tok exec -s storage.read:/data --aud https://se.example.org -- \\
      xrdcp root://se.example.org//data/f out
  tok exec -s compute.create --min-valid 10m -- ./long-job.sh
  tok exec --credential job.cred -- ./analysis.sh

Exit status:
  N      the command's exit code
  128+N  the command was killed by signal N
  126    the command could not be run
  127    the command was not found
tok's own codes (see tok(1)) apply only to failures before the command starts";

pub const DELEGATE: &str = "\
Examples:
  tok delegate -s storage.read:/store/data -s storage.create:/store/user/me \\
      --aud https://se.example.org --lifetime 3d --out job.cred
  tok revoke --credential job.cred                 # when the job is done";

pub const REVOKE: &str = "\
Examples:
  tok revoke --credential job.cred";

pub const INIT: &str = "\
Examples:
  eval \"$(tok init bash)\"                          # in ~/.bashrc
  tok init fish | source                           # in config.fish";

pub const STATUS: &str = "\
Login end:
Each account shows when its login ends, if the provider (refresh_expires_in, a JWT refresh
token's exp) or `tok login --lifetime` said; `tok get`, `tok env` and `tok exec` warn on stderr
once a day in its last login_warning_days (config.toml, default 3).

Examples:
  tok status
  tok list --json";

pub const LOGOUT: &str = "\
Examples:
  tok logout cms                                   # revoke at the provider
  tok logout cms --keep-remote                     # the provider is unreachable
  tok logout cms --forget                          # and remove its settings";

pub const AUDIT: &str = "\
Examples:
  tok audit --since 2h -a cms
  tok audit --json";

pub const ISSUERS: &str = "\
Examples:
  tok issuers
  tok issuers --json";

pub const UNLOCK: &str = "\
Examples:
  tok unlock
  tok unlock --passphrase-file ~/.config/tok/pass";

pub const LOCK: &str = "\
Examples:
  tok lock                                         # stop serving tokens now
  tok unlock                                       # resume";

pub const AGENT: &str = "\
Examples:
  tok agent start --store file
  tok agent status
  tok agent stop
  tok agent run --foreground --store keyring       # under a service manager";

pub const INSPECT: &str = "\
Examples:
  tok get -s storage.read:/store | tok inspect
  tok get -f json | tok inspect --json
  tok inspect < $BEARER_TOKEN_FILE

WLCG profile checks:
  wlcg.ver       the claim is present and \"1.0\"
  required       iss, sub, aud, exp, iat and jti are present
  scope          storage.read/create/modify/stage/poll with an absolute path,
                 compute.read/modify/create/cancel, wlcg.groups, wlcg
  audience       a service origin without trailing slash or default port, or
                 https://wlcg.cern.ch/jwt/v1/any
  groups         wlcg.groups entries are absolute paths
  lifetime       exp after iat, and at most 6 h (1 h is typical)
  expired, time  not expired; nbf and iat not in the future
  personal-data  no email, name, preferred_username… in an access token
  signature      not unsigned (alg none); the signature itself is never checked

Exit status:
  0    the token was read: a JWT, whatever the findings, or an opaque token
  2    no token, or a malformed one";

pub const DOCTOR: &str = "\
Examples:
  tok doctor
  TOK_HTTP_TIMEOUT=5 tok doctor

Exit status:
  0    no check failed (warnings do not count)
  1    a check failed";
