//! `tok login`: the agent runs the device flow; this side shows the code, a QR code and a
//! countdown, and cancels cleanly on Ctrl-C (closing the connection stops the agent polling).

use super::{request, unexpected};
use crate::cli::LoginArgs;
use crate::error::Error;
use crate::presets;
use crate::terminal::one_line;

/// How long past the device code's expiry the CLI still waits for the agent's answer.
const CODE_GRACE: Duration = Duration::from_secs(15);
use crate::protocol::{
    AudienceParam, DeviceCodePrompt, LoginRequest, Narrowing, Request, Response,
};
use crate::scope::normalise_scopes;
use crate::secret::ClientSecret;
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The CA file as an absolute path, once it is known to hold a PEM certificate: a wrong file
/// would otherwise surface only as a TLS "UnknownIssuer" after the login started.
fn check_ca_file(path: &std::path::Path) -> Result<String, Error> {
    let unusable = |why: String| Error::Usage(format!("--ca-file {}: {why}", path.display()));
    let absolute = std::fs::canonicalize(path).map_err(|e| unusable(e.to_string()))?;
    let meta = std::fs::metadata(&absolute).map_err(|e| unusable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unusable("not a regular file".into()));
    }
    let text = std::fs::read(&absolute).map_err(|e| unusable(e.to_string()))?;
    if !text
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(unusable(
            "holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); pass the provider's CA bundle".into(),
        ));
    }
    Ok(absolute.display().to_string())
}

/// What a preset fills in that the command line left open.
struct FromPreset {
    name: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<ClientSecret>,
    scopes: Vec<String>,
    audience_param: Option<AudienceParam>,
    narrowing: Option<Narrowing>,
    refresh_invalidates_tokens: Option<bool>,
}

/// Applies an issuer preset: `--issuer NAME` names one; a new account named like one uses it; an
/// issuer URL that a preset describes gets its settings. Explicit options always win.
fn apply_preset(args: &LoginArgs) -> Result<FromPreset, Error> {
    let presets =
        presets::load(&crate::dirs::issuers_file()).map_err(|e| Error::Usage(e.to_string()))?;
    let config = crate::config::Config::load(&crate::dirs::config_file())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let known = args
        .name
        .as_ref()
        .is_some_and(|n| config.accounts.contains_key(n));
    let chosen = match (&args.issuer, &args.name) {
        (Some(i), _) if !i.contains("://") => match presets.get_key_value(i.as_str()) {
            Some(found) => Some(found),
            None => {
                return Err(Error::Usage(format!(
                    "`{i}` is neither an issuer URL nor a preset; `tok issuers` lists the presets, or give the full https:// address"
                )))
            }
        },
        (Some(i), _) => presets::by_issuer(&presets, i),
        (None, Some(n)) if !known => presets.get_key_value(n.as_str()),
        (None, _) => None,
    };
    let Some((preset_name, preset)) = chosen else {
        return Ok(FromPreset {
            name: args.name.clone(),
            issuer: args.issuer.clone(),
            client_id: args.client_id.clone(),
            client_secret: None,
            scopes: args.scopes.clone(),
            audience_param: args.audience_param,
            narrowing: None,
            refresh_invalidates_tokens: None,
        });
    };
    eprintln!(
        "tok login: using the preset `{preset_name}`: {} ({})",
        preset.issuer, preset.description
    );
    let client_id = args.client_id.clone().or_else(|| preset.client_id.clone());
    if client_id.is_none() && !preset.registration {
        return Err(Error::Usage(format!(
            "{} offers tok no client of its own: pass --client-id (and --client-secret-file) of a client registered there ({})",
            preset.issuer, preset.description
        )));
    }
    Ok(FromPreset {
        name: args.name.clone().or_else(|| Some(preset_name.clone())),
        issuer: Some(preset.issuer.clone()),
        // A published "secret" goes with the preset's own client only.
        client_secret: match (&args.client_id, &preset.client_secret) {
            (None, Some(s)) => Some(ClientSecret::new(s.as_str())),
            _ => None,
        },
        client_id,
        scopes: if args.scopes.is_empty() && !known {
            preset.scopes.clone()
        } else {
            args.scopes.clone()
        },
        audience_param: args.audience_param.or(Some(preset.audience_param)),
        narrowing: Some(preset.narrowing),
        refresh_invalidates_tokens: Some(preset.refresh_invalidates_tokens),
    })
}

pub fn run(args: LoginArgs) -> Result<()> {
    if args.name.is_none() && args.issuer.is_none() {
        return Err(Error::Usage(
            "give an account name or --issuer URL (or both); `tok issuers` lists presets".into(),
        )
        .into());
    }
    let preset = apply_preset(&args)?;
    let client_secret = match &args.client_secret_file {
        Some(path) => Some(read_secret_file(path)?),
        None => preset.client_secret.clone(),
    };
    let ca_file = match &args.ca_file {
        Some(p) => Some(check_ca_file(p)?),
        None => None,
    };
    let scopes = normalise_scopes(&preset.scopes).map_err(|e| Error::Usage(e.to_string()))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))
        .context("cannot install the Ctrl-C handler")?;

    let make = || {
        Request::Login(LoginRequest {
            account: preset.name.clone(),
            issuer: preset.issuer.clone(),
            client_id: preset.client_id.clone(),
            client_secret: client_secret.clone(),
            scopes: scopes.clone(),
            audience_param: preset.audience_param,
            ca_file: ca_file.clone(),
            make_default: args.default,
            narrowing: preset.narrowing,
            refresh_invalidates_tokens: preset.refresh_invalidates_tokens,
            lifetime_secs: args.lifetime.map(|d| d.as_secs()),
            confirm: match (args.confirm, args.no_confirm) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
        })
    };
    let (mut conn, response) = request(make)?;
    let Response::DeviceCode(prompt) = response else {
        return Err(unexpected(&response).into());
    };
    show_prompt(&prompt, !args.no_qr);
    let progress = Countdown::start(prompt.expires_in_secs);
    // The agent stops polling when the code expires; this side does not wait much longer even
    // if the agent is stuck.
    let deadline = Instant::now() + Duration::from_secs(prompt.expires_in_secs) + CODE_GRACE;
    loop {
        if Instant::now() > deadline {
            progress.finish("expired");
            drop(conn);
            return Err(Error::Agent {
                kind: crate::protocol::ErrorKind::Denied,
                message:
                    "the device code expired before the login was approved; run `tok login` again"
                        .into(),
            }
            .into());
        }
        if interrupted.load(Ordering::Relaxed) {
            progress.finish("login cancelled");
            // Dropping the connection tells the agent to stop polling the provider.
            drop(conn);
            return Err(Error::Interrupted.into());
        }
        if conn.wait_readable(Duration::from_millis(200)) {
            break;
        }
    }
    let result = crate::client::into_result(conn.receive()?);
    match result {
        Ok(Response::LoggedIn {
            account,
            issuer,
            client_id,
        }) => {
            progress.finish("approved");
            eprintln!("tok: logged in as account `{account}` at {issuer} (client {client_id})");
            Ok(())
        }
        Ok(other) => {
            progress.finish("failed");
            Err(unexpected(&other).into())
        }
        Err(e) => {
            progress.finish("failed");
            Err(e.into())
        }
    }
}

fn read_secret_file(path: &std::path::Path) -> Result<ClientSecret> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the client secret file {}", path.display()))?,
    );
    let secret = text.trim();
    if secret.is_empty() {
        return Err(Error::Usage(format!(
            "the client secret file {} is empty",
            path.display()
        ))
        .into());
    }
    Ok(ClientSecret::new(secret))
}

fn show_prompt(prompt: &DeviceCodePrompt, qr: bool) {
    // Plain lines first: indicatif hides everything when stderr is not a terminal, and the
    // user (or a test harness) must always see where to go.
    // Provider text: shown, never obeyed (see crate::terminal).
    eprintln!("To log in, open {}", one_line(&prompt.verification_uri));
    eprintln!("and enter the code: {}", one_line(&prompt.user_code));
    if let Some(complete) = &prompt.verification_uri_complete {
        eprintln!("or open directly: {}", one_line(complete));
        if qr && std::io::stderr().is_terminal() {
            if let Ok(code) = qrcode::QrCode::new(complete.as_bytes()) {
                let image = code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build();
                eprintln!("{image}");
            }
        }
    }
}

/// A spinner with the time left until the device code expires.
struct Countdown {
    bar: indicatif::ProgressBar,
    stop: Arc<AtomicBool>,
}

impl Countdown {
    fn start(expires_in_secs: u64) -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(expires_in_secs);
        bar.enable_steady_tick(Duration::from_millis(120));
        let (b, s) = (bar.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                b.set_message(format!(
                    "waiting for approval… {}:{:02} left (Ctrl-C to cancel)",
                    left / 60,
                    left % 60
                ));
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        Self { bar, stop }
    }

    fn finish(&self, message: &str) {
        self.stop.store(true, Ordering::Relaxed);
        self.bar.finish_and_clear();
        if !self.bar.is_hidden() {
            eprintln!("{message}");
        }
    }
}
