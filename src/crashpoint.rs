//! Test hook for the crash-matrix tests: with `TOK_TEST_CRASH_AT=STEP` the agent dies like a
//! `kill -9` at that step, so a test can check that nothing is lost whatever the moment.
//! Steps: `provider_answered` (tokens received, nothing stored), `store_written` (the rotated
//! refresh token stored, no answer sent), `reply_sent` (the client has its token),
//! `temp_written` (an atomic file write has its temporary file but has not renamed it).
//!
//! Only debug builds (what `cargo test` runs, tests/it/crash.rs) honour the variable: in a
//! release build [`reached`] is empty, so nobody can make a production agent die on cue.
//! In a debug build the variable is read once; unset it costs one branch.

/// Dies here (SIGKILL) when `TOK_TEST_CRASH_AT` names `step`; debug builds only.
#[cfg(debug_assertions)]
pub fn reached(step: &str) {
    use std::sync::OnceLock;
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| {
        std::env::var("TOK_TEST_CRASH_AT")
            .ok()
            .filter(|s| !s.is_empty())
    });
    if at.as_deref() == Some(step) {
        eprintln!("tok agent: TOK_TEST_CRASH_AT={step}: dying here");
        // SAFETY: kill(2) on our own pid; SIGKILL cannot be caught, so nothing runs after it.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// Release builds: no crash points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn reached(_step: &str) {}
