//! One private ministack (the local AWS emulator) per test.
//!
//! [`Ministack`] owns the emulator process: it makes sure the pinned virtual
//! environment exists (`scripts/emulator-venv.sh`), starts ministack on a free
//! loopback port with its scratch files under the target directory, waits until
//! it answers, and stops it again on drop.
//!
//! Ministack runs under a small `sh` guard in a process group of its own. The
//! guard watches a pipe whose write end only this struct holds: when the pipe
//! closes, whether by drop or because the test process died in any way (panic,
//! abort, SIGKILL), the guard kills ministack and then the rest of the group
//! (the Lambda bootstraps ministack runs), removes the scratch directory and
//! exits. When ministack exits by itself, the guard exits too, so a failed
//! start is noticed at once.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

use crate::host::{emulator_venv, free_port, http_request, target_dir};

/// How long ministack may take to answer its health check.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// Starts retried when ministack exits at once (e.g. its port was taken meanwhile).
const START_ATTEMPTS: usize = 3;

/// The guard (`$0` ministack, `$1` its scratch dir). A reader of the guard's
/// stdin kills ministack on EOF; when ministack is gone, for that or any other
/// reason, the guard stops what ministack started, cleans up and exits.
const GUARD_SCRIPT: &str = r#"
exec 3<&0 0</dev/null
"$0" 3<&- &
pid=$!
{ read _ignored <&3; kill -KILL "$pid"; } &
exec 3<&-
wait "$pid"
status=$?
trap '' TERM
kill -TERM 0
rm -rf -- "$1"
echo "ministack exited with status $status" >&2
"#;

/// A running ministack, reachable at [`Ministack::endpoint`], stopped on drop.
pub struct Ministack {
    port: u16,
    guard: Child,
    /// Closing this pipe is what stops the guard, and so ministack.
    guard_stdin: Option<ChildStdin>,
    state_dir: PathBuf,
    log: PathBuf,
}

impl Ministack {
    /// Starts a fresh emulator, without blocking the async runtime.
    pub async fn start() -> Ministack {
        tokio::task::spawn_blocking(Ministack::start_blocking)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Starts a fresh emulator; panics (with its log) when it does not come up.
    pub fn start_blocking() -> Ministack {
        let exe = emulator_venv().join("bin/ministack");
        for attempt in 1..=START_ATTEMPTS {
            let mut stack = Ministack::spawn(&exe);
            match stack.wait_until_healthy() {
                Ok(()) => return stack,
                Err(why) if attempt < START_ATTEMPTS && stack.exited() => {
                    eprintln!("ministack on port {} failed ({why}); retrying", stack.port);
                }
                Err(why) => panic!(
                    "ministack on port {} did not come up: {why}\n--- {} ---\n{}",
                    stack.port,
                    stack.log.display(),
                    stack.log_tail(40)
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn spawn(exe: &Path) -> Ministack {
        let port = free_port();
        let scratch = target_dir().join("tmp");
        let state_dir = scratch.join(format!("ministack-{port}"));
        let log = scratch.join(format!("ministack-{port}.log"));
        fs::create_dir_all(&state_dir).expect("create ministack's scratch directory");
        let log_file = fs::File::create(&log).expect("create ministack's log file");
        let log_err = log_file.try_clone().expect("clone the log file handle");

        let endpoint = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(GUARD_SCRIPT)
            .arg(exe)
            .arg(&state_dir)
            .stdin(Stdio::piped())
            .stdout(log_file)
            .stderr(log_err)
            // Its own process group: Ctrl-C in a terminal reaches the test, not the
            // emulator, and `kill 0` in the guard reaches everything ministack started.
            .process_group(0);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if ["AWS_", "MINISTACK_", "LOCALSTACK_"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                command.env_remove(&*name);
            }
        }
        command
            .env("GATEWAY_PORT", port.to_string())
            .env("BIND_HOST", "127.0.0.1")
            .env("MINISTACK_HOST", "127.0.0.1")
            .env("SFN_WAIT_SCALE", "0")
            .env("TMPDIR", &state_dir)
            .env("S3_DATA_DIR", state_dir.join("s3"))
            .env("STATE_DIR", state_dir.join("state"))
            .envs(client_env(&endpoint));
        let mut guard = command.spawn().expect("spawn sh to run ministack");
        let guard_stdin = guard.stdin.take();
        Ministack {
            port,
            guard,
            guard_stdin,
            state_dir,
            log,
        }
    }

    fn wait_until_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if self.exited() {
                return Err("the process exited".into());
            }
            match http_request(
                self.port,
                "GET",
                "/_ministack/health",
                Duration::from_secs(2),
            ) {
                Ok((200, _)) => return Ok(()),
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(100))
                }
                Ok((status, body)) => return Err(format!("health answered {status}: {body}")),
                Err(e) => return Err(format!("no answer within {STARTUP_TIMEOUT:?}: {e}")),
            }
        }
    }

    fn exited(&mut self) -> bool {
        !matches!(self.guard.try_wait(), Ok(None))
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port ministack listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where ministack's output goes (kept when the test panics).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// SDK configuration for this emulator: its endpoint, static `test`
    /// credentials, `us-east-1`; nothing is read from the host's environment.
    pub fn sdk_config(&self) -> SdkConfig {
        crate::sdk_config(&self.endpoint())
    }

    /// The environment a child process (e.g. the `rollout` binary) needs to use
    /// this emulator through the SDK's default configuration chain.
    pub fn env(&self) -> Vec<(String, String)> {
        client_env(&self.endpoint())
    }

    /// Clears every resource in the emulator (`POST /_ministack/reset`).
    pub fn reset(&self) {
        match http_request(
            self.port,
            "POST",
            "/_ministack/reset",
            Duration::from_secs(30),
        ) {
            Ok((200, _)) => {}
            Ok((status, body)) => panic!("ministack reset answered {status}: {body}"),
            Err(e) => panic!("ministack reset failed: {e}"),
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Ministack {
    fn drop(&mut self) {
        // EOF on the guard's stdin: it kills ministack, then everything ministack
        // started, and exits once ministack is gone.
        drop(self.guard_stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.exited() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if !self.exited() {
            let group = format!("-{}", self.guard.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = self.guard.wait();
        }
        let _ = fs::remove_dir_all(&self.state_dir);
        if thread::panicking() {
            eprintln!("ministack log kept at {}", self.log.display());
        } else {
            let _ = fs::remove_file(&self.log);
        }
    }
}

/// The AWS variables that point the SDK's default chain at `endpoint`.
fn client_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", crate::ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", crate::SECRET_ACCESS_KEY),
        ("AWS_REGION", crate::REGION),
        ("AWS_DEFAULT_REGION", crate::REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
