//! The files `tok login` reads: the provider's CA bundle, a client secret, and for
//! `--flow refresh` a refresh token (from a private file or stdin, never from argv).

use crate::error::Error;
use crate::secret::{ClientSecret, RefreshToken};
use anyhow::{Context, Result};

/// The CA file as an absolute path, once it is known to hold a PEM certificate: a wrong file
/// would otherwise surface only as a TLS "UnknownIssuer" after the login started.
pub(super) fn check_ca_file(path: &std::path::Path) -> Result<String, Error> {
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

pub(super) fn read_secret_file(path: &std::path::Path) -> Result<ClientSecret> {
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

/// Reads a refresh token for `--flow refresh` from `path`, or stdin for `-`. Like the
/// passphrase file (issue 21), a file that group or others may read is refused: the token in it
/// is a login.
pub(super) fn read_refresh_token(path: &std::path::Path) -> Result<RefreshToken> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::with_capacity(16 * 1024));
    let source = if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .context("cannot read the refresh token from stdin")?;
        "stdin".to_string()
    } else {
        let read_err = || format!("cannot read the refresh token file {}", path.display());
        let file = std::fs::File::open(path).with_context(read_err)?;
        let meta = file.metadata().with_context(read_err)?;
        if let Err(why) = crate::dirs::check_private(&meta, crate::dirs::PrivateKind::File) {
            let how = match why {
                crate::dirs::NotPrivate::OpenToOthers { mode } => format!(
                    "it is open to group or others (mode {mode:04o}): run `chmod 600 {}`",
                    path.display()
                ),
                crate::dirs::NotPrivate::NotOurs { owner, me } => {
                    format!("it is owned by uid {owner}, not by you (uid {me})")
                }
                _ => "it is not a regular file".to_string(),
            };
            return Err(Error::Usage(format!(
                "the refresh token file {} is not private ({how}); nothing was read",
                path.display()
            ))
            .into());
        }
        file.take(64 * 1024)
            .read_to_string(&mut text)
            .with_context(read_err)?;
        path.display().to_string()
    };
    let token = text.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(Error::Usage(format!(
            "{source} holds no refresh token (it must be the token alone, on one line)"
        ))
        .into());
    }
    Ok(RefreshToken::new(token))
}
