//! The account file reader against a file the real `oidc-gen` (Debian oidc-agent-cli 4.2.6)
//! wrote, checked in as tests/oidc_agent/fixtures/ (its refresh token was issued by a test
//! provider that no longer runs), and against damaged, GPG and older files.

use super::*;

const FIXTURE: &str = include_str!("../../../tests/oidc_agent/fixtures/wlcg-4.2.6");
/// The password tests/it/oidc_agent_import.rs gives oidc-gen.
const PASSWORD: &str = "oidc-agent-pw";

#[test]
fn reads_a_file_written_by_oidc_gen() {
    let account = decrypt(FIXTURE.as_bytes(), PASSWORD).unwrap();
    assert_eq!(account.name, "wlcg");
    assert!(
        account.issuer.starts_with("https://127.0.0.1:"),
        "{account:?}"
    );
    assert_eq!(account.client_id, "tok-confidential");
    assert_eq!(account.client_secret.unwrap().expose(), "s3cret-client");
    assert!(!account.refresh_token.expose().is_empty());
    assert!(account.scopes.iter().any(|s| s == "offline_access"));
}

#[test]
fn refuses_what_it_cannot_read_and_says_why() {
    assert_eq!(
        decrypt(FIXTURE.as_bytes(), "wrong").unwrap_err(),
        AccountFileError::WrongPassword
    );
    let gpg = "-----BEGIN PGP MESSAGE-----\n\nhQEMA...\n-----END PGP MESSAGE-----\n";
    assert_eq!(
        decrypt(gpg.as_bytes(), PASSWORD).unwrap_err(),
        AccountFileError::Gpg
    );
    assert_eq!(
        decrypt(b"a1b2c3d4e5f6:00ff00ff00:1234abcd\n", PASSWORD).unwrap_err(),
        AccountFileError::TooOld
    );
    assert_eq!(
        decrypt(b"[accounts]\nname = 1\n", PASSWORD).unwrap_err(),
        AccountFileError::Unknown
    );
    assert_eq!(
        decrypt(&[0xff, 0xfe], PASSWORD).unwrap_err(),
        AccountFileError::Unknown
    );
    // A flipped ciphertext byte with the right password: damaged, not a wrong password.
    let mut lines: Vec<String> = FIXTURE.lines().map(str::to_string).collect();
    let mut sealed = BASE64.decode(&lines[4]).unwrap();
    sealed[3] ^= 1;
    lines[4] = BASE64.encode(sealed);
    assert!(matches!(
        decrypt(lines.join("\n").as_bytes(), PASSWORD).unwrap_err(),
        AccountFileError::Damaged(_)
    ));
}
