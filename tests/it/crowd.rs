//! A crowd of idle and slow same-uid connections at the agent's connection cap (issue 21,
//! item 1): before the fix a new `tok status` failed at once (exit 6) until the idle ones timed
//! out, and with a hard limit of 1,024 open files it hung. Now the connection that has waited
//! longest for a request makes room, and the agent's descriptors return when the crowd leaves.

use crate::common::{wait_until, wait_with_timeout, Out, Provider, TestEnv};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Above the agent's cap of 1,024 connections.
const IDLE: usize = 1100;
const SLOW: usize = 100;
/// The agent's `session::IDLE_TIMEOUT`.
const AGENT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

fn agent_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Lets this test process hold the crowd's sockets even under a soft limit of 1,024.
fn raise_own_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// `IDLE` connections that never send a byte and `SLOW` ones that send one byte of a frame
/// every half second; the returned flag stops the dribbling.
struct Crowd {
    idle: Vec<UnixStream>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    dribbler: Option<std::thread::JoinHandle<()>>,
}

impl Crowd {
    fn gather(env: &TestEnv) -> Self {
        raise_own_fd_limit();
        let idle: Vec<_> = (0..IDLE)
            .map(|_| UnixStream::connect(env.socket()).expect("connect an idle client"))
            .collect();
        let mut slow: Vec<_> = (0..SLOW)
            .map(|_| {
                let mut s = UnixStream::connect(env.socket()).expect("connect a slow client");
                s.set_nonblocking(true).unwrap();
                let _ = s.write_all(&200u32.to_be_bytes());
                s
            })
            .collect();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let dribbler = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                for s in &mut slow {
                    // Connections closed to make room answer EPIPE: ignored.
                    let _ = s.write(b" ");
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        Self {
            idle,
            stop,
            dribbler: Some(dribbler),
        }
    }

    fn leave(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.dribbler.take() {
            t.join().unwrap();
        }
        self.idle.clear();
    }
}

/// One `tok ARGS` with no retry; killed after 8 s (before the agent's 10 s idle timeout could
/// have freed a slot), so a hang fails instead of waiting for the reply timeout.
fn run_once(env: &TestEnv, args: &[&str]) -> Out {
    let child = env
        .command(args)
        .env("TOK_NO_AUTOSTART", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_timeout(child, Duration::from_secs(8));
    Out {
        what: format!("tok {}", args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn clients_are_served_in_a_crowd(env: &TestEnv, tag: &str) {
    let pid = env.agent_pid();
    let baseline = agent_fds(pid);
    let crowd = Crowd::gather(env);
    let gathered = Instant::now();
    // The agent has taken in the crowd: it holds (about) as many sockets as it allows.
    assert!(
        wait_until(|| agent_fds(pid) >= baseline + 800),
        "the agent holds {} descriptors (baseline {baseline})\n{}",
        agent_fds(pid),
        env.agent_log()
    );
    let status = run_once(env, &["status"]);
    assert_eq!(status.code, Some(0), "{status}\n{}", env.agent_log());
    let scope = format!("storage.read:/crowd-{tag}");
    let get = run_once(env, &["get", "-s", &scope]);
    assert_eq!(get.code, Some(0), "{get}\n{}", env.agent_log());
    assert!(
        gathered.elapsed() < AGENT_IDLE_TIMEOUT,
        "served only after {:?}: the idle timeout, not room made, let them in",
        gathered.elapsed()
    );
    assert!(
        env.agent_log().contains("waited longest"),
        "{}",
        env.agent_log()
    );
    crowd.leave();
    // Every socket of the crowd is closed again (a pooled provider connection may differ).
    assert!(
        wait_until(|| agent_fds(pid) <= baseline + 2),
        "the agent still holds {} descriptors (baseline {baseline})",
        agent_fds(pid)
    );
    env.run(&["status"]).ok();
}

#[test]
fn idle_and_slow_connections_at_the_cap_make_room_for_new_clients() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    clients_are_served_in_a_crowd(&env, "wide");

    // With a hard limit of 1,024 open files the cap shrinks below it: room is made before
    // accept(2) runs out of descriptors.
    env.stop_agent();
    let out = env
        .program("sh")
        .args(["-c", "ulimit -n 1024 && exec tok agent start"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.login_cms(&provider);
    clients_are_served_in_a_crowd(&env, "narrow");
}
