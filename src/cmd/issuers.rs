//! `tok issuers`: the issuer presets, so a user can log in by name (`tok login cms`). No agent
//! is involved.

use super::print_stdout;
use crate::cli::IssuersArgs;
use crate::error::Error;
use crate::presets;
use crate::protocol::AudienceParam;
use anyhow::Result;
use std::fmt::Write;

pub fn run(args: IssuersArgs) -> Result<()> {
    let path = crate::dirs::issuers_file();
    let all = presets::load(&path).map_err(|e| Error::Usage(e.to_string()))?;
    if args.json {
        let mut s = serde_json::to_string_pretty(&all)?;
        s.push('\n');
        print_stdout(&s)?;
        return Ok(());
    }
    let mut s = String::new();
    for (name, p) in &all {
        let client = match (&p.client_id, p.registration) {
            (Some(id), _) => format!("public client {id}"),
            (None, true) => "registered by tok (RFC 7591)".to_string(),
            (None, false) => "none: pass --client-id".to_string(),
        };
        let _ = writeln!(s, "{name:<10} {}", p.issuer);
        let _ = writeln!(s, "           {}", p.description);
        let _ = writeln!(
            s,
            "           client: {client}; audience: {}; scopes: {}",
            match p.audience_param {
                AudienceParam::Resource => "resource",
                AudienceParam::Audience => "audience",
            },
            if p.scopes.is_empty() {
                "(none besides openid offline_access)".to_string()
            } else {
                p.scopes.join(" ")
            }
        );
    }
    let _ = writeln!(
        s,
        "\n`tok login NAME` logs in with a preset; add or override presets in {}",
        path.display()
    );
    print_stdout(&s)?;
    Ok(())
}
