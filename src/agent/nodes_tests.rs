//! The shared account list across tok versions: a list a newer tok published (with account
//! fields this tok does not know) still gives every account.

use super::*;

/// A published list as a newer tok writes it: `cms` carries a field this tok has never heard
/// of, next to the ones it knows.
const NEWER_LIST: &str = r#"{
  "accounts": {
    "cms": {
      "account": {
        "issuer": "https://op.example", "client_id": "c", "scopes": ["openid"],
        "login_end": {"at": 1800000000, "source": "refresh_expires_in"},
        "login_renewal": {"every": "30d"}
      },
      "ca_pem": null,
      "published_by": "tok 9"
    },
    "atlas": {"account": {"issuer": "https://op2.example", "client_id": "d"}}
  }
}"#;

#[test]
fn a_newer_toks_fields_are_ignored_not_fatal() {
    let (accounts, unknown) = parse_shared(NEWER_LIST).expect("the list is read");
    assert_eq!(
        accounts.keys().collect::<Vec<_>>(),
        ["atlas", "cms"],
        "every account is kept"
    );
    let cms = &accounts["cms"].account;
    assert_eq!(cms.issuer, "https://op.example");
    assert_eq!(cms.login_end.map(|e| e.at), Some(1_800_000_000));
    assert_eq!(unknown.into_iter().collect::<Vec<_>>(), ["login_renewal"]);
}

#[test]
fn an_account_this_tok_cannot_read_is_skipped_alone() {
    let list = r#"{"accounts": {
        "cms": {"account": {"issuer": "https://op", "client_id": "c", "narrowing": "telepathy"}},
        "atlas": {"account": {"issuer": "https://op", "client_id": "d"}}
    }}"#;
    let (accounts, _) = parse_shared(list).expect("the list is read");
    assert_eq!(accounts.keys().collect::<Vec<_>>(), ["atlas"]);
}

#[test]
fn the_published_document_reads_back() {
    let mut config = Config::default();
    let (published, _) = parse_shared(NEWER_LIST).unwrap();
    for (name, shared) in published {
        config.accounts.insert(name, shared.account);
    }
    let (again, unknown) = parse_shared(&accounts_document(&config)).unwrap();
    assert!(unknown.is_empty());
    assert_eq!(again["cms"].account, config.accounts["cms"]);
}
