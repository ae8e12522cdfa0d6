//! What `tok login` shows while the agent waits: the device code (with a QR code), and a
//! countdown with Ctrl-C to cancel.

use crate::protocol::DeviceCodePrompt;
use crate::terminal::one_line;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) fn show_prompt(prompt: &DeviceCodePrompt, qr: bool) {
    // Plain lines first: indicatif hides everything when stderr is not a terminal, and the
    // user (or a test harness) must always see where to go.
    // Provider text: shown, never obeyed (see crate::terminal).
    eprintln!("To log in, open {}", one_line(&prompt.verification_uri));
    eprintln!("and enter the code: {}", one_line(&prompt.user_code));
    if let Some(complete) = &prompt.verification_uri_complete {
        eprintln!("or open directly: {}", one_line(complete));
        if qr && std::io::stderr().is_terminal() {
            if let Ok(code) = qrcode::QrCode::new(complete.as_bytes()) {
                let image = code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build();
                eprintln!("{image}");
            }
        }
    }
}

/// A spinner with the time left until the device code expires.
pub(super) struct Countdown {
    bar: indicatif::ProgressBar,
    stop: Arc<AtomicBool>,
}

impl Countdown {
    pub(super) fn start(expires_in_secs: u64, waiting_for: &'static str) -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(expires_in_secs);
        bar.enable_steady_tick(Duration::from_millis(120));
        let (b, s) = (bar.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                b.set_message(format!(
                    "waiting for {waiting_for}… {}:{:02} left (Ctrl-C to cancel)",
                    left / 60,
                    left % 60
                ));
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        Self { bar, stop }
    }

    pub(super) fn finish(&self, message: &str) {
        self.stop.store(true, Ordering::Relaxed);
        self.bar.finish_and_clear();
        if !self.bar.is_hidden() {
            eprintln!("{message}");
        }
    }
}
