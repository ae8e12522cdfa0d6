//! The loopback listener against raw requests: only one answer with this login's state is
//! taken; everything else is refused without ending the wait.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(port: u16, target: &str, extra: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn one_valid_answer_is_taken_and_the_rest_refused() {
    let listener = Listener::bind().await.unwrap();
    let uri = listener.redirect_uri();
    assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"));
    let port: u16 = uri["http://127.0.0.1:".len()..uri.len() - "/callback".len()]
        .parse()
        .unwrap();
    assert_eq!(
        listener.inner.local_addr().unwrap().ip(),
        std::net::IpAddr::V4(Ipv4Addr::LOCALHOST)
    );
    let waiting = tokio::spawn(listener.wait(|s| s == "good"));
    let idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert!(get(port, "/favicon.ico", "")
        .await
        .starts_with("HTTP/1.1 404"));
    let forged = get(port, "/callback?code=c&state=bad", "").await;
    assert!(
        forged.starts_with("HTTP/1.1 400") && forged.contains("not this login"),
        "{forged}"
    );
    assert!(get(port, "/callback?code=c", "")
        .await
        .starts_with("HTTP/1.1 400"));
    let dup = get(port, "/callback?code=c&state=good&state=good", "").await;
    assert!(dup.starts_with("HTTP/1.1 400"));
    let scripted = get(
        port,
        "/callback?code=c&state=good",
        "Origin: https://evil.example\r\n",
    )
    .await;
    assert!(scripted.starts_with("HTTP/1.1 403"), "{scripted}");
    let cors = get(
        port,
        "/callback?code=c&state=good",
        "Sec-Fetch-Mode: cors\r\n",
    )
    .await;
    assert!(cors.starts_with("HTTP/1.1 403"), "{cors}");
    assert!(!waiting.is_finished(), "none of these ended the login");
    let ok = get(
        port,
        "/callback?code=the-code&state=good",
        "Sec-Fetch-Mode: navigate\r\n",
    )
    .await;
    assert!(
        ok.starts_with("HTTP/1.1 200") && ok.contains("close this tab"),
        "{ok}"
    );
    let Callback::Code(code, iss) = waiting.await.unwrap() else {
        panic!("expected a code")
    };
    assert_eq!(code.as_str(), "the-code");
    assert_eq!(iss, None);
    drop(idle);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the listener is closed after the one answer"
    );
}

#[tokio::test]
async fn a_provider_error_ends_the_login_and_is_shown_escaped() {
    let listener = Listener::bind().await.unwrap();
    let port = listener.port;
    let waiting = tokio::spawn(listener.wait(|s| s == "st"));
    let page = get(
        port,
        "/callback?error=access_denied%3Cscript%3E&state=st",
        "",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200"));
    assert!(
        page.contains("access_denied") && !page.contains("<script>"),
        "{page}"
    );
    let Callback::ProviderError(code) = waiting.await.unwrap() else {
        panic!("expected the provider's error")
    };
    assert_eq!(code, "access_deniedscript");
    assert_eq!(
        escape("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

/// The head parser reads the request line and the two headers that matter, and nothing past
/// the blank line (a body cannot smuggle in an `Origin`, or hide one).
#[test]
fn the_request_head_is_read_as_a_browser_sends_it() {
    let req = parse_head(b"GET /callback?state=%67ood&code=c HTTP/1.1\r\nHost: x\r\norigin:  https://evil.example \r\n\r\n").unwrap();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/callback?state=%67ood&code=c")
    );
    assert_eq!(req.origin.as_deref(), Some("https://evil.example"));
    assert!(matches!(
        judge(&req, &|s: &str| s == "good"),
        Verdict::Refuse(403, ..)
    ));
    let req =
        parse_head(b"GET /callback?state=%67ood&code=c HTTP/1.1\r\n\r\nOrigin: x\r\n\r\n").unwrap();
    assert_eq!(req.origin, None);
    assert!(
        matches!(
            judge(&req, &|s: &str| s == "good"),
            Verdict::Take(Callback::Code(..))
        ),
        "a percent-encoded state is decoded before it is compared"
    );
    assert!(parse_head(b"\xff\xfe").is_none());
    assert!(parse_head(b"GET\r\n\r\n").is_none());
    let post = parse_head(b"POST /callback?state=good&code=c HTTP/1.1\r\n\r\n").unwrap();
    assert!(matches!(
        judge(&post, &|s: &str| s == "good"),
        Verdict::Refuse(405, ..)
    ));
    assert_eq!(safe_code("\u{1b}[31m"), "31m");
    assert_eq!(safe_code("\u{1b}"), "an unreadable error");
}
