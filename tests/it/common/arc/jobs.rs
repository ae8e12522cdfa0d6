//! Watching jobs on the CE: state, exit code, failure reason, and the logs when a test fails.

use super::*;

impl ArcCe {
    pub(super) fn control(&self) -> PathBuf {
        self.dir.path().join("control")
    }

    /// A-REX's own state of a job (`ACCEPTED`, `INLRMS`, `FINISHED`, …), from its control
    /// directory, with no client and no token involved.
    pub fn job_state(&self, id: &str) -> Option<String> {
        ["accepting", "processing", "restarting", "finished"]
            .iter()
            .find_map(|d| {
                std::fs::read_to_string(self.control().join(d).join(format!("job.{id}.status")))
                    .ok()
            })
            .map(|s| s.trim().to_string())
    }

    /// The job's exit code as the CE recorded it (`exitcode=` in its diag file).
    pub fn job_exit_code(&self, id: &str) -> Option<i32> {
        std::fs::read_to_string(self.control().join(format!("job.{id}.diag")))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("exitcode=")?.trim().parse().ok())
    }

    /// Why A-REX failed the job, if it did.
    pub fn job_failure(&self, id: &str) -> Option<String> {
        std::fs::read_to_string(self.control().join(format!("job.{id}.failed"))).ok()
    }

    /// How many jobs the CE has ever accepted.
    pub fn job_count(&self) -> usize {
        std::fs::read_dir(self.control())
            .map(|rd| {
                rd.flatten()
                    .filter(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.starts_with("job.") && n.ends_with(".description")
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Waits until A-REX has finished with job `id` (state FINISHED, whether it succeeded or
    /// not); panics with the logs when it takes longer than `timeout`.
    #[track_caller]
    pub fn wait_finished(&self, id: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.job_state(id).as_deref() == Some("FINISHED") {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        self.log_shown.set(true);
        panic!(
            "job {id} did not finish within {timeout:?} (state {:?})\n{}",
            self.job_state(id),
            self.logs()
        );
    }

    /// arched's own log (the HTTP/TLS/token side).
    pub fn service_log(&self) -> String {
        let log = self.dir.path().join("log");
        std::fs::read_to_string(log.join("arched.out")).unwrap_or_default()
            + &std::fs::read_to_string(log.join("arched.log")).unwrap_or_default()
    }

    /// The tails of every log A-REX writes, and each job's own record (its job script, the
    /// batch system's output and its state changes).
    pub fn logs(&self) -> String {
        let root = self.dir.path();
        let mut files: Vec<PathBuf> = [
            "log/arched.out",
            "log/arched.log",
            "log/infoprovider.log",
            "log/job.helper.errors",
        ]
        .iter()
        .map(|f| root.join(f))
        .collect();
        if let Ok(rd) = std::fs::read_dir(self.control()) {
            let mut jobs: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    n.starts_with("job.") && (n.ends_with(".errors") || n.ends_with(".failed"))
                })
                .collect();
            jobs.sort();
            files.extend(jobs);
        }
        let mut out = format!(
            "=== A-REX at {} (started {:?} ago), files under {} ===\n",
            self.url(),
            self.started.elapsed(),
            root.display()
        );
        for f in files {
            if f.exists() {
                out.push_str(&format!(
                    "--- {} ---\n{}",
                    f.strip_prefix(root).unwrap_or(&f).display(),
                    tail(&f, 120)
                ));
            }
        }
        out
    }

    /// Panics with `msg`, the command's output and the CE's logs.
    #[track_caller]
    pub fn fail(&self, msg: &str, out: &Out) -> ! {
        self.log_shown.set(true);
        panic!("{msg}\n{out}\n{}", self.logs())
    }
}
