//! The user's side of the browser login: whether this is a desktop session a browser can be
//! opened in (decided here, from the CLI's environment: the agent's is not the user's
//! desktop), and opening the URL with `$BROWSER` or the desktop's opener, its output kept off
//! the terminal.

use crate::protocol::Desktop;
use std::process::{Command, Stdio};

/// Whether a browser on this machine can be opened and reach its 127.0.0.1, and why.
pub(super) fn desktop() -> Desktop {
    desktop_from(|name| std::env::var_os(name).filter(|v| !v.is_empty()).is_some())
}

fn desktop_from(set: impl Fn(&str) -> bool) -> Desktop {
    let fact = |usable: bool, why: String| Desktop { usable, why };
    // Over ssh a browser would open (if at all) on the remote desktop, or the local browser
    // could not reach this machine's 127.0.0.1.
    for var in ["SSH_CONNECTION", "SSH_TTY"] {
        if set(var) {
            return fact(false, format!("this is an ssh session ({var} is set)"));
        }
    }
    if cfg!(target_os = "macos") {
        return fact(true, "a desktop session is present (macOS)".into());
    }
    for var in ["WAYLAND_DISPLAY", "DISPLAY"] {
        if set(var) {
            return fact(true, format!("a desktop session is present ({var} is set)"));
        }
    }
    fact(
        false,
        "there is no desktop session (neither DISPLAY nor WAYLAND_DISPLAY is set)".into(),
    )
}

/// The command that opens `url`: `$BROWSER` split like a command line (a `%s` in it is replaced
/// by the URL, else the URL is appended), else `xdg-open` / `open` on a desktop; `None` when
/// there is nothing to open a browser with.
fn opener(browser: Option<&str>, desktop: bool, url: &str) -> Option<Vec<String>> {
    let mut words: Vec<String> = match browser.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.split_whitespace().map(str::to_string).collect(),
        None if desktop && cfg!(target_os = "macos") => vec!["open".into()],
        None if desktop => vec!["xdg-open".into()],
        None => return None,
    };
    if words.iter().any(|w| w.contains("%s")) {
        for w in &mut words {
            *w = w.replace("%s", url);
        }
    } else {
        words.push(url.to_string());
    }
    Some(words)
}

/// Opens `url` in a browser if one can be; returns the program that was started. Its output
/// goes nowhere (a browser's chatter would garble the terminal), and it runs in its own process
/// group so that Ctrl-C on `tok login` does not reach it.
pub(super) fn open(url: &str, desktop: &Desktop) -> Option<String> {
    // Only an https link (or http on loopback) is handed to a program that opens links: never
    // a `file:` or `javascript:` one, whatever the agent was told.
    if crate::net::check_url("the sign-in link", url).is_err() {
        eprintln!("tok login: the sign-in link is not an https link; it was not opened");
        return None;
    }
    let browser = std::env::var("BROWSER").ok();
    let words = opener(browser.as_deref(), desktop.usable, url)?;
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    match cmd.spawn() {
        Ok(mut child) => {
            // Reaped in the background: a launcher such as xdg-open returns at once, a browser
            // may run on.
            std::thread::spawn(move || child.wait());
            Some(words[0].clone())
        }
        Err(e) => {
            eprintln!(
                "tok login: cannot start {} ({e}); open the link by hand",
                words[0]
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_beats_a_display_and_a_display_is_a_desktop() {
        let env = |vars: &'static [&'static str]| move |n: &str| vars.contains(&n);
        let d = desktop_from(env(&["DISPLAY", "SSH_CONNECTION"]));
        assert!(!d.usable);
        assert_eq!(d.why, "this is an ssh session (SSH_CONNECTION is set)");
        if !cfg!(target_os = "macos") {
            let d = desktop_from(env(&["DISPLAY"]));
            assert!(d.usable && d.why.contains("DISPLAY is set"), "{d:?}");
            assert!(desktop_from(env(&["WAYLAND_DISPLAY"])).usable);
            assert!(!desktop_from(env(&[])).usable);
        }
    }

    #[test]
    fn browser_is_split_like_a_command_and_gets_the_url() {
        let url = "https://op/auth?a=1&b=2";
        assert_eq!(
            opener(Some("node /x/approve.js --browse"), false, url).unwrap(),
            ["node", "/x/approve.js", "--browse", url]
        );
        assert_eq!(
            opener(Some("firefox --new-tab %s"), false, url).unwrap(),
            ["firefox", "--new-tab", url]
        );
        assert_eq!(opener(None, false, url), None);
        if !cfg!(target_os = "macos") {
            assert_eq!(opener(None, true, url).unwrap(), ["xdg-open", url]);
        }
    }
}
