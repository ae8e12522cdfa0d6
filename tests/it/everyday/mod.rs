//! The two commands a user reaches for when something is off: `tok inspect` (what does this
//! token say, and is it a proper WLCG token?) and `tok doctor` (which piece of the setup is
//! broken?), run as a user would, against the real test provider.

use crate::common::{Out, Provider, TestEnv};
use std::io::Write;
use std::process::Stdio;

mod doctor;
mod inspect;

/// `tok ARGS` with `input` on stdin.
fn run_with_stdin(env: &TestEnv, args: &[&str], input: &str) -> Out {
    let mut child = env
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tok");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Out {
        what: format!("tok {} < input", args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sh -c SCRIPT` in the test's sealed environment, `tok` on PATH.
fn shell(env: &TestEnv, script: &str) -> Out {
    let out = env.program("sh").args(["-c", script]).output().unwrap();
    Out {
        what: format!("sh -c '{script}'"),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A JWT with `claims` and a made-up signature (inspect never checks it).
fn jwt(claims: serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.bm90LWEtcmVhbC1zaWduYXR1cmU",
        b64(serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": "k1"})),
        b64(claims)
    )
}

fn write_config(env: &TestEnv, text: &str) {
    let dir = env.path().join("config/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

fn config_for(issuer: &str) -> String {
    format!(
        "default_account = \"cms\"\n\n[accounts.cms]\nissuer = \"{issuer}\"\nclient_id = \"tok-test\"\nscopes = [\"openid\", \"offline_access\"]\n"
    )
}
