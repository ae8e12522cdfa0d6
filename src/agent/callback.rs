//! The loopback listener of the code flow (RFC 8252 §7.3): the browser comes back to
//! `http://127.0.0.1:PORT/callback` with the code. It listens on 127.0.0.1 only, on a port the
//! kernel picks, and accepts exactly one answer that carries this login's `state`; then it
//! closes. Everything else — another path (a favicon), a wrong or missing `state`, a request a
//! web page's script made (an `Origin` header) — gets an error page and leaves the login waiting,
//! so that a stray or hostile request can neither finish nor end someone's login.

use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zeroize::Zeroizing;

/// The callback's path; anything else is answered 404.
pub const CALLBACK_PATH: &str = "/callback";
/// A browser's request head is well under this; a larger one is refused.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// One connection may take this long to send its request (a browser's idle pre-connection is
/// simply dropped after it; the listener keeps accepting meanwhile).
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What the one accepted callback brought.
pub enum Callback {
    /// The code, and the `iss` the answer named (RFC 9207), if any.
    Code(Zeroizing<String>, Option<String>),
    /// The provider's `error=` (e.g. `access_denied`), reduced to a safe code.
    ProviderError(String),
}

pub struct Listener {
    inner: TcpListener,
    port: u16,
}

impl Listener {
    /// Binds 127.0.0.1 on an ephemeral port (never a wildcard address: nothing off this machine
    /// may answer a login).
    pub async fn bind() -> std::io::Result<Self> {
        let inner = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = inner.local_addr()?.port();
        Ok(Self { inner, port })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Serves requests until one carries the right state (`state_ok`), answers it, closes the
    /// listener and returns what it brought. Requests are handled concurrently, so an idle
    /// connection cannot hold up the browser's real one.
    pub async fn wait(self, state_ok: impl Fn(&str) -> bool) -> Callback {
        let mut tasks = tokio::task::JoinSet::new();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(TcpStream, Request)>(8);
        loop {
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                accepted = self.inner.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let tx = tx.clone();
                    tasks.spawn(async move {
                        let mut stream = stream;
                        match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
                            Ok(Some(request)) => {
                                let _ = tx.send((stream, request)).await;
                            }
                            _ => respond(&mut stream, 400, BAD_REQUEST).await,
                        }
                    });
                }
                Some((mut stream, request)) = rx.recv() => {
                    // Decided one at a time, here: only one answer can ever be taken.
                    match judge(&request, &state_ok) {
                        Verdict::Take(callback) => {
                            let page = match &callback {
                                Callback::Code(..) => SIGNED_IN.to_string(),
                                Callback::ProviderError(code) => failed_page(code),
                            };
                            respond(&mut stream, 200, &page).await;
                            return callback;
                        }
                        Verdict::Refuse(status, page, why) => {
                            tracing::warn!("login callback refused: {why}");
                            tasks.spawn(async move { respond(&mut stream, status, page).await });
                        }
                    }
                }
            }
        }
    }
}

/// The parts of a request the listener looks at (never logged: the query holds the code).
pub struct Request {
    method: String,
    target: String,
    origin: Option<String>,
    fetch_mode: Option<String>,
}

enum Verdict {
    Take(Callback),
    Refuse(u16, &'static str, &'static str),
}

fn judge(req: &Request, state_ok: &impl Fn(&str) -> bool) -> Verdict {
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    if path != CALLBACK_PATH {
        return Verdict::Refuse(404, NOT_FOUND, "another path");
    }
    if req.method != "GET" {
        return Verdict::Refuse(405, BAD_REQUEST, "not a GET");
    }
    // The provider's redirect is a top-level navigation, which carries no Origin header; a
    // request that does (or says it is not a navigation) was made by some page's script.
    if req.origin.is_some() || req.fetch_mode.as_deref().is_some_and(|m| m != "navigate") {
        return Verdict::Refuse(
            403,
            FOREIGN,
            "a request from a web page, not the browser's redirect",
        );
    }
    let mut state = None;
    let mut code = None;
    let mut error = None;
    let mut iss = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "state" => &mut state,
            "code" => &mut code,
            "error" => &mut error,
            "iss" => &mut iss,
            _ => continue,
        };
        if slot.is_some() {
            return Verdict::Refuse(400, BAD_REQUEST, "a repeated parameter");
        }
        *slot = Some(Zeroizing::new(v.into_owned()));
    }
    match state {
        Some(s) if state_ok(&s) => {}
        Some(_) => return Verdict::Refuse(400, WRONG_STATE, "its state is not this login's"),
        None => return Verdict::Refuse(400, WRONG_STATE, "it carries no state"),
    }
    match (code, error) {
        (_, Some(e)) => Verdict::Take(Callback::ProviderError(safe_code(&e))),
        (Some(c), None) if !c.is_empty() => {
            Verdict::Take(Callback::Code(c, iss.map(|i| i.to_string())))
        }
        _ => Verdict::Refuse(400, BAD_REQUEST, "neither a code nor an error"),
    }
}

/// An OAuth error code as tok repeats it: RFC 6749 codes are short ASCII words; anything else
/// is cut to the characters such a code uses.
fn safe_code(code: &str) -> String {
    let kept: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_-.".contains(*c))
        .take(64)
        .collect();
    if kept.is_empty() {
        "an unreadable error".into()
    } else {
        kept
    }
}

/// Reads the request head; `None` for anything that is not a readable HTTP/1 request head.
async fn read_head(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Zeroizing::new(Vec::with_capacity(2048));
    let mut chunk = Zeroizing::new([0u8; 2048]);
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk[..]).await.ok()?;
        if n == 0 || buf.len() + n > MAX_HEAD_BYTES {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    parse_head(&buf)
}

/// The parts of a request head the listener looks at: the request line's method and target,
/// and the `Origin` and `Sec-Fetch-Mode` headers.
pub(crate) fn parse_head(head: &[u8]) -> Option<Request> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let header = |name: &str| {
        text.split("\r\n")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    Some(Request {
        method,
        target,
        origin: header("origin"),
        fetch_mode: header("sec-fetch-mode"),
    })
}

/// For the fuzz target: a request head judged against the state `good`; returns whether it
/// would be taken, and checks what a taken error code may hold.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_judge(head: &[u8]) -> bool {
    let Some(req) = parse_head(head) else {
        return false;
    };
    let state_seen = std::cell::Cell::new(false);
    let verdict = judge(&req, &|s: &str| {
        state_seen.set(s == "good");
        s == "good"
    });
    if matches!(verdict, Verdict::Take(_)) {
        assert!(state_seen.get(), "taken without this login's state");
    }
    match verdict {
        Verdict::Take(Callback::ProviderError(code)) => {
            assert!(code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-. ".contains(c)));
            assert!(!escape(&failed_page(&code)).is_empty());
            true
        }
        Verdict::Take(Callback::Code(code, _)) => {
            assert!(!code.is_empty());
            assert!(req.target.starts_with(CALLBACK_PATH) && req.origin.is_none());
            true
        }
        Verdict::Refuse(status, ..) => {
            assert!([400, 403, 404, 405].contains(&status));
            false
        }
    }
}

async fn respond(stream: &mut TcpStream, status: u16, page: &str) {
    let reason = match status {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'\r\nConnection: close\r\n\r\n",
        page.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(page.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// HTML-escapes provider text for the page (only a reduced error code is ever shown).
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn failed_page(code: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tok: sign-in failed</title></head><body><h1>tok: sign-in failed</h1><p>The provider answered <code>{}</code>. Nothing was stored. You can close this tab; the terminal says what to do next.</p></body></html>",
        escape(code)
    )
}

const SIGNED_IN: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tok: signed in</title></head><body><h1>tok: signed in</h1><p id=\"success\">tok received the sign-in. You can close this tab and return to the terminal.</p></body></html>";
const WRONG_STATE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tok: not this login</title></head><body><h1>tok: not this login</h1><p id=\"error\">This answer does not carry the state of the login tok is waiting for, so it was ignored and nothing was stored. If you started <code>tok login</code> more than once, finish it in the newest tab.</p></body></html>";
const FOREIGN: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tok: refused</title></head><body><h1>tok: refused</h1><p id=\"error\">This request came from a web page, not from the provider's redirect; tok ignored it.</p></body></html>";
const NOT_FOUND: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>not found</title></head><body><p>Not found.</p></body></html>";
const BAD_REQUEST: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tok: bad request</title></head><body><p id=\"error\">tok cannot use this request; nothing was stored.</p></body></html>";

#[cfg(test)]
mod tests;
