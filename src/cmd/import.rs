//! `tok import --from oidc-agent [NAME…]`: take accounts over from oidc-agent's account files
//! without logging in again. Every file is read and decrypted before anything is stored, so a
//! wrong password or an unreadable file leaves tok as it was.

use super::{request, unexpected};
use crate::cli::compat_args::ImportArgs;
use crate::compat::account_file::{self, AccountFileError, OidcAgentAccount};
use crate::error::Error;
use crate::protocol::{AudienceParam, ImportRequest, Request, Response};
use crate::secret::Passphrase;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Suffix given to an account file by `--retire`, so oidc-agent no longer finds it.
const RETIRED_SUFFIX: &str = ".imported-by-tok";

pub fn run(args: ImportArgs) -> Result<()> {
    let dir = account_dir(args.dir.as_deref())?;
    let explicit = !args.names.is_empty();
    let files: Vec<(String, PathBuf)> = if explicit {
        args.names
            .iter()
            .map(|n| (n.clone(), dir.join(n)))
            .collect()
    } else {
        list_account_files(&dir)?
    };
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "no oidc-agent account files in {}; name the directory with --dir",
            dir.display()
        ))
        .into());
    }
    let config = crate::config::Config::load(&crate::dirs::config_file())?;
    if let Some((name, _)) = files.iter().find(|(n, _)| config.accounts.contains_key(n)) {
        return Err(Error::Usage(format!(
            "tok already has an account `{name}`; nothing was imported (name the others to import, or `tok logout {name} --forget` first)"
        ))
        .into());
    }
    let password = password(&args)?;
    let mut accounts = Vec::new();
    for (name, path) in &files {
        let content = std::fs::read(path).with_context(|| {
            format!("cannot read the oidc-agent account file {}", path.display())
        })?;
        match account_file::decrypt(&content, password.expose()) {
            Ok(account) => accounts.push((name.clone(), path.clone(), account)),
            Err(AccountFileError::Unknown) if !explicit => {
                eprintln!(
                    "tok: skipped {}: not an oidc-agent account file",
                    path.display()
                );
            }
            Err(e) => {
                return Err(Error::Usage(format!(
                    "cannot import {}: {e}; nothing was imported",
                    path.display()
                ))
                .into())
            }
        }
    }
    if accounts.is_empty() {
        return Err(Error::Usage(format!(
            "no oidc-agent account file in {} could be read; name the directory with --dir",
            dir.display()
        ))
        .into());
    }
    let presets = crate::presets::load(&crate::dirs::issuers_file()).unwrap_or_default();
    for (name, path, account) in &accounts {
        let audience_param = crate::presets::by_issuer(&presets, &account.issuer)
            .map(|(_, p)| p.audience_param)
            // oidc-agent asks with `audience=`, and this provider answered it.
            .unwrap_or(AudienceParam::Audience);
        let req = import_request(name, account, audience_param);
        match request(|| Request::Import(req.clone()))?.1 {
            Response::LoggedIn {
                account, issuer, ..
            } => eprintln!(
                "tok: imported `{account}` ({issuer}) from {}",
                path.display()
            ),
            other => return Err(unexpected(&other).into()),
        }
        if !account.audiences.is_empty() {
            eprintln!(
                "tok: `{name}` asked oidc-agent for audience {} by default; tok asks for an audience only when told: `tok get {name} --aud …` (oidc-token --aud works too)",
                account.audiences.join(" ")
            );
        }
        if args.retire {
            let retired = PathBuf::from(format!("{}{RETIRED_SUFFIX}", path.display()));
            std::fs::rename(path, &retired)
                .with_context(|| format!("imported, but cannot rename {}", path.display()))?;
            eprintln!(
                "tok: oidc-agent will no longer use it: renamed to {}",
                retired.display()
            );
        }
    }
    if !args.retire && !accounts.is_empty() {
        eprintln!(
            "tok: warning: oidc-agent's files still hold the same refresh tokens. At a provider that rotates refresh tokens, the first refresh by one agent invalidates the other's: stop using them in oidc-agent (`tok import --from oidc-agent --retire NAME…` renames the files; do not use `oidc-gen -d`, which revokes the token tok now uses too)"
        );
    }
    Ok(())
}

fn import_request(
    name: &str,
    account: &OidcAgentAccount,
    audience_param: AudienceParam,
) -> ImportRequest {
    ImportRequest {
        account: name.to_string(),
        issuer: account.issuer.clone(),
        client_id: account.client_id.clone(),
        client_secret: account.client_secret.clone(),
        scopes: account.scopes.clone(),
        audience_param,
        // The CA oidc-agent used, if it is still there; else the system's.
        ca_file: account.cert_path.clone().filter(|p| Path::new(p).is_file()),
        refresh_token: account.refresh_token.clone(),
    }
}

/// Where oidc-agent keeps account files: `$OIDC_CONFIG_DIR`, `~/.config/oidc-agent`, or
/// `~/.oidc-agent`.
fn account_dir(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("OIDC_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let candidates = [home.join(".config/oidc-agent"), home.join(".oidc-agent")];
    candidates
        .iter()
        .find(|d| d.is_dir())
        .cloned()
        .ok_or_else(|| {
            Error::Usage(format!(
                "no oidc-agent account directory ({} or {}); name it with --dir",
                candidates[0].display(),
                candidates[1].display()
            ))
            .into()
        })
}

/// The account files in `dir`: regular files, not oidc-agent's own settings.
fn list_account_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot list the oidc-agent account directory {}",
            dir.display()
        )
    })?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let settings = name.starts_with('.')
            || name.ends_with(".config")
            || name.ends_with(".conf")
            || name.ends_with(".json")
            || name.ends_with(RETIRED_SUFFIX);
        if !settings && entry.file_type().is_ok_and(|t| t.is_file()) {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The files' password: `--password-file`, else `TOK_ASKPASS`, else a terminal prompt.
fn password(args: &ImportArgs) -> Result<Passphrase> {
    if let Some(path) = &args.password_file {
        return super::unlock::read_passphrase_file(path);
    }
    const PROMPT: &str = "password of the oidc-agent account files";
    if let Some(program) = std::env::var_os("TOK_ASKPASS").filter(|p| !p.is_empty()) {
        let out = std::process::Command::new(&program)
            .arg(PROMPT)
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| {
                format!("cannot run TOK_ASKPASS ({})", Path::new(&program).display())
            })?;
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&out.stdout).into_owned());
        let pass = text.trim_end_matches(['\n', '\r']);
        if !out.status.success() || pass.is_empty() {
            return Err(
                Error::Usage("TOK_ASKPASS gave no password; nothing was imported".into()).into(),
            );
        }
        return Ok(Passphrase::new(pass));
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no terminal to ask for the account files' password; use --password-file FILE or TOK_ASKPASS".into(),
        )
        .into());
    }
    let pass = dialoguer::Password::new()
        .with_prompt(PROMPT)
        .interact()
        .context("cannot read the password")?;
    Ok(Passphrase::new(pass))
}
