//! The checks against each account's provider: TLS trust, discovery, and the clock skew
//! between this machine and the provider (from its `Date` header).

use super::*;

/// TLS, discovery and clock checks for every account, concurrently (a dead provider costs its
/// timeout once, not once per account).
pub(super) fn providers(accounts: &[(String, Account)]) -> Vec<Vec<Check>> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return accounts
                .iter()
                .map(|(name, _)| {
                    vec![Check::new(
                        State::Fail,
                        format!("{name} provider"),
                        format!("cannot start the async runtime: {e}"),
                    )]
                })
                .collect()
        }
    };
    runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, (name, account)) in accounts.iter().enumerate() {
            let (name, account) = (name.clone(), account.clone());
            set.spawn(async move { (i, provider(&name, &account).await) });
        }
        let mut results: Vec<(usize, Vec<Check>)> = vec![];
        while let Some(joined) = set.join_next().await {
            if let Ok(r) = joined {
                results.push(r);
            }
        }
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, checks)| checks).collect()
    })
}

/// Where tok's trust for this provider comes from, for the TLS line.
pub(super) fn trust(account: &Account) -> String {
    let store = match std::env::var("SSL_CERT_FILE") {
        Ok(f) if !f.is_empty() => format!("SSL_CERT_FILE={f}"),
        _ => "the system CA store".to_string(),
    };
    match &account.ca_file {
        Some(ca) => format!("{store} plus {ca}"),
        None => store,
    }
}

pub(super) async fn provider(name: &str, account: &Account) -> Vec<Check> {
    let (tls, discovery, clock) = (
        format!("{name} tls"),
        format!("{name} discovery"),
        format!("{name} clock"),
    );
    let issuer = &account.issuer;
    let http = match oauth::http_client(account.ca_file.as_deref()) {
        Ok(h) => h,
        Err(e) => {
            return vec![
                Check::new(State::Fail, tls, e.to_string()).fix(format!(
                    "fix ca_file of [accounts.{name}] in config.toml, or `tok login {name} --ca-file PATH`"
                )),
                Check::new(State::Skip, discovery, "no HTTPS client"),
                Check::new(State::Skip, clock, "no HTTPS client"),
            ]
        }
    };
    let parsed = match crate::net::check_url("issuer", issuer) {
        Ok(u) => u,
        Err(e) => {
            return vec![
                Check::new(State::Skip, tls, "the issuer URL is not usable"),
                Check::new(State::Fail, discovery, e.to_string()).fix(format!(
                    "fix issuer of [accounts.{name}] in config.toml, or log in again with the right --issuer"
                )),
                Check::new(State::Skip, clock, "the issuer URL is not usable"),
            ]
        }
    };
    // One plain request first: its failure tells TLS trust from reachability, and its answer
    // carries the provider's Date header.
    let url = oauth::discovery::well_known_urls(
        &parsed,
        crate::net::issuer_base(issuer),
        "openid-configuration",
        false,
    )
    .remove(0);
    let sent = SystemTime::now();
    let answer = http.get(&url).send().await;
    let received = SystemTime::now();
    let mut out = vec![];
    let resp = match answer {
        Ok(resp) => resp,
        Err(e) => {
            match oauth::form::transport_error(&format!("discovery at {url}"), e) {
                // The TLS message names the trust used; the fix names this account.
                OauthError::Config(m) => {
                    out.push(Check::new(State::Fail, tls, m).fix(format!(
                        "`tok login {name} --ca-file PATH` with the provider's CA bundle, or SSL_CERT_FILE"
                    )));
                    out.push(Check::new(State::Skip, discovery, "TLS failed"));
                }
                other => {
                    out.push(Check::new(State::Skip, tls, "the provider was not reached"));
                    out.push(Check::new(State::Fail, discovery, other.to_string()).fix(
                        "check the issuer URL, the network and any proxy, and whether the provider is up; the agent keeps serving tokens it has cached",
                    ));
                }
            }
            out.push(Check::new(
                State::Skip,
                clock,
                "the provider was not reached",
            ));
            return out;
        }
    };
    if parsed.scheme() == "https" {
        out.push(Check::new(
            State::Ok,
            tls,
            format!(
                "{}: certificate verified, trusting {}",
                parsed.origin().ascii_serialization(),
                trust(account)
            ),
        ));
    } else {
        out.push(Check::new(
            State::Skip,
            tls,
            "plain http on loopback: no TLS",
        ));
    }
    let date = resp
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date);
    drop(resp);
    out.push(match oauth::discover(&http, issuer).await {
        Ok(md) => {
            let offers = [
                ("browser login (code flow)", md.offers_code_flow()),
                ("device flow", md.device_authorization_endpoint.is_some()),
                ("revocation", md.revocation_endpoint.is_some()),
                ("registration", md.registration_endpoint.is_some()),
                (
                    "token exchange",
                    md.grant_types_supported
                        .iter()
                        .any(|g| g == oauth::TOKEN_EXCHANGE_GRANT),
                ),
            ];
            let offered: Vec<&str> = offers.iter().filter(|o| o.1).map(|o| o.0).collect();
            let detail = format!(
                "{issuer}: token endpoint {}; offers {}",
                md.token_endpoint,
                if offered.is_empty() {
                    "nothing more".to_string()
                } else {
                    offered.join(", ")
                }
            );
            if md.device_authorization_endpoint.is_none() && !md.offers_code_flow() {
                Check::new(
                    State::Warn,
                    discovery,
                    format!("{detail}; neither a device authorization endpoint nor a browser login: `tok login` cannot log in here"),
                )
                .fix("ask the provider's operators to enable the device flow (RFC 8628) or the authorization-code flow for tok's client")
            } else {
                Check::new(State::Ok, discovery, detail)
            }
        }
        Err(e) => {
            let fix = match e {
                OauthError::Config(_) => format!(
                    "check issuer of [accounts.{name}] in config.toml (log in again with the right --issuer)"
                ),
                _ => "retry later: the provider may be down or overloaded".to_string(),
            };
            Check::new(State::Fail, discovery, e.to_string()).fix(fix)
        }
    });
    out.push(match date {
        None => Check::new(
            State::Skip,
            clock,
            "the provider sent no readable Date header",
        ),
        Some(date) => {
            let secs = |t: SystemTime| {
                t.duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0)
            };
            // The Date header is whole seconds, taken while the request was in flight.
            let here = (secs(sent) + secs(received)) / 2.0;
            skew(clock, here - date as f64)
        }
    });
    out
}

/// The clock line for `skew` seconds (ours minus the provider's).
pub(super) fn skew(name: String, skew: f64) -> Check {
    let n = skew.abs().round();
    if skew.abs() <= MAX_SKEW_SECS {
        Check::new(
            State::Ok,
            name,
            format!("within {n} s of the provider's clock"),
        )
    } else {
        Check::new(
            State::Warn,
            name,
            format!(
                "this clock is {n} s {} the provider's: resources check token times with little or no leeway, so fresh tokens may look not yet valid or already expired",
                if skew > 0.0 { "ahead of" } else { "behind" }
            ),
        )
        .fix("synchronise the clock (chrony, systemd-timesyncd or ntpd)")
    }
}

/// An HTTP `Date` (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) as unix seconds.
pub(super) fn parse_http_date(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, rest) = text.trim().split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: i64 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day)
        || !(0..24).contains(h)
        || !(0..60).contains(m)
        || !(0..61).contains(s)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Now 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn skew_beyond_a_minute_is_a_warning() {
        assert_eq!(skew("c".into(), 0.4).state, State::Ok);
        assert_eq!(skew("c".into(), -59.0).state, State::Ok);
        let ahead = skew("c".into(), 75.2);
        assert_eq!(ahead.state, State::Warn);
        assert!(ahead.detail.contains("75 s ahead of"), "{}", ahead.detail);
        assert!(skew("c".into(), -600.0).detail.contains("behind"));
    }

    #[test]
    fn lines_carry_the_remedy_and_no_control_characters() {
        let c = Check::new(State::Fail, "x", "bad\u{1b}[2J").fix("chmod 700 /d");
        assert_eq!(c.line(), "FAIL  x: bad\\u{1b}[2J; fix: chmod 700 /d\n");
    }
}
