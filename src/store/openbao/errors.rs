//! How OpenBao's refusals and transport failures are worded: what failed, where, and what to do
//! next (unseal, renew the token, set BAO_CACERT), with OpenBao's own `errors` escaped, capped and
//! scrubbed of any secret, and never a stored value.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct ErrorsAnswer {
    #[serde(default)]
    pub(super) errors: Vec<String>,
}

impl OpenBaoStore {
    pub(super) fn garbled(&self, what: &str, target: &str, e: &serde_json::Error) -> StoreError {
        // serde's message can quote the offending value: give only where and what kind.
        self.backend(format!(
            "OpenBao at {} answered the {what} {target} with something tok cannot read ({:?} \
             error at line {} column {}): is `{}` a KV version 2 mount, and was the entry \
             written by tok?",
            self.addr,
            e.classify(),
            e.line(),
            e.column(),
            self.mount
        ))
    }

    /// Turns an OpenBao error answer into a message that says what to do.
    pub(super) fn failure(
        &self,
        status: StatusCode,
        body: &[u8],
        what: &str,
        target: &str,
        redact: &[&str],
    ) -> StoreError {
        let errors = errors_of(body);
        let errors = redacted(&errors, redact);
        let target = if target.is_empty() {
            String::new()
        } else {
            format!(" {target}")
        };
        let addr = &self.addr;
        match status.as_u16() {
            503 if errors.to_ascii_lowercase().contains("sealed") => unavailable(format!(
                "OpenBao at {addr} is sealed: unseal it (`bao operator unseal`); cached tokens \
                 keep being served, and tok carries on once it is unsealed"
            )),
            401 | 403 => self.backend(format!(
                "OpenBao at {addr} refused tok's token (permission denied / expired) to {what}{target}: \
                 get a new one with `bao login -method=…` (it writes ~/.vault-token) or set BAO_TOKEN \
                 (the token now comes from {}); if it is fresh, ask your site for a policy granting \
                 {}/data/{}/* and {}/metadata/{}/*",
                self.source.describe(),
                self.mount,
                self.prefix,
                self.mount,
                self.prefix
            )),
            404 if errors.contains("no handler for route") => self.backend(format!(
                "OpenBao at {addr} has no KV mount `{}` (to {what}{target}): set TOK_BAO_MOUNT to \
                 your site's KV version 2 mount",
                self.mount
            )),
            429 | 500..=599 => unavailable(format!(
                "OpenBao at {addr} answered HTTP {} to {what}{target}{}; nothing is lost, retry later",
                status.as_u16(),
                paren(&errors)
            )),
            _ => self.backend(format!(
                "OpenBao at {addr} answered HTTP {} to {what}{target}{}",
                status.as_u16(),
                paren(&errors)
            )),
        }
    }

    pub(super) fn transport(&self, what: &str, target: &str, e: reqwest::Error) -> StoreError {
        let e = e.without_url();
        let chain = net::error_chain(&e);
        let failure = net::transport_failure(&e, &chain);
        let addr = &self.addr;
        if failure == TransportFailure::Timeout {
            return unavailable(format!(
                "OpenBao at {addr} did not answer the request to {what} {target} within {} s; \
                 cached tokens keep being served, retry later",
                REQUEST_TIMEOUT.as_secs()
            ));
        }
        let hint = if failure == TransportFailure::Trust {
            ": set BAO_CACERT to the PEM CA bundle that signed its certificate"
        } else {
            ": is it running, and is BAO_ADDR right? cached tokens keep being served"
        };
        unavailable(format!("cannot reach OpenBao at {addr} ({chain}){hint}"))
    }
}

/// OpenBao's `errors` list, joined, with control characters escaped and capped in length.
pub(super) fn errors_of(body: &[u8]) -> String {
    let e: ErrorsAnswer = parse(body).unwrap_or_default();
    let joined = e.errors.join("; ");
    let mut out: String = joined.chars().take(300).collect::<String>();
    if joined.chars().count() > 300 {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// `text` with every occurrence of a secret replaced (OpenBao does not echo values, but an
/// error message is no place to find out otherwise).
pub(super) fn redacted(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, "<redacted>");
        out = out.replace(&s.escape_debug().to_string(), "<redacted>");
    }
    out
}

pub(super) fn paren(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" ({s})")
    }
}
