//! The `tok` binary: parse, run, report the error chain once, exit with a documented code.
//!
//! It starts without Rust's runtime set-up (`no_main`): every job runs `tok get`, and that
//! set-up (reading /proc/self/maps to word a stack-overflow message, mapping an alternate
//! signal stack) costs a process about a tenth of a `/bin/true` (BENCHMARKS.md). The parts of
//! it that matter to tok are done here, the command line included: `main` builds it from its own
//! `argc`/`argv`, which works with glibc and with musl (the release build) alike.
#![cfg_attr(not(test), no_main)]
// Under `cargo test` the harness brings its own `main`; the logic here is tested through the
// binary by tests/it.
#![cfg_attr(test, allow(dead_code, unused_imports))]

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStrExt;
use tok::error::{exit, Error};

/// Rust's exit code for a panic that reaches `main`.
const PANICKED: u8 = 101;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    prepare_process();
    // SAFETY: the C runtime passes `argc` valid, NUL-terminated strings in `argv`, alive for the
    // whole process.
    let args = unsafe { arguments(argc, argv) };
    let code = std::panic::catch_unwind(|| run(args)).unwrap_or(PANICKED);
    // No runtime to flush stdout on the way out.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    c_int::from(code)
}

fn run(args: Vec<OsString>) -> u8 {
    let cli = tok::args::parse_from(args);
    match tok::cmd::run_exit(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                // The reader went away (e.g. `tok get | head -c0`): not our failure.
                return exit::OK;
            }
            let code = err
                .chain()
                .find_map(|e| e.downcast_ref::<Error>())
                .map(Error::exit_code)
                .unwrap_or(exit::ERROR);
            let mut message = format!("tok: {err}");
            for cause in err.chain().skip(1) {
                // Many messages already name their cause; say it only once.
                let text = cause.to_string();
                if !message.contains(&text) {
                    message.push_str(&format!("\n  caused by: {text}"));
                }
            }
            // Messages can carry a provider's words (an error description): shown, not obeyed.
            eprintln!("{}", tok::terminal::printable(&message));
            code
        }
    }
}

/// The command line as the C runtime passed it to `main`. `std::env::args_os` is empty here on
/// musl: only glibc hands argv to std's initialiser, and without Rust's own start-up nothing else
/// does.
///
/// # Safety
/// `argv` must point to `argc` valid NUL-terminated strings.
unsafe fn arguments(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    let count = usize::try_from(argc).unwrap_or(0);
    (0..count)
        .map(|i| {
            // SAFETY: the caller promises `argc` valid pointers to C strings.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            std::ffi::OsStr::from_bytes(arg.to_bytes()).to_os_string()
        })
        .collect()
}

/// What Rust's runtime would have done before `main` and tok relies on.
fn prepare_process() {
    // SAFETY: fcntl, open and signal on plain integers; no memory is shared.
    unsafe {
        // A closed 0, 1 or 2 would be taken by the next file or socket opened, and a token
        // printed to "stdout" would land in it: point any closed one at /dev/null.
        for fd in 0..=2 {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) == -1
            {
                libc::abort();
            }
        }
        // A reader that goes away gets EPIPE handled above rather than killing us;
        // std still resets SIGPIPE to the default in the commands we start.
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
