//! The Autobahn|Testsuite's fuzzing server, through kosoku (see
//! ../shared/design/TESTING.md): start it on a free port with a set of case
//! globs, let a client run the cases, and read the verdicts it wrote.
//!
//! kosoku is found through `$KOSOKU`, then `<repo>/.venv-ab/bin/kosoku` (what
//! `scripts/install-peers` installs); a test fails naming that command when
//! neither is there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Verdicts per case id, as "behavior/behaviorClose".
pub type Verdicts = BTreeMap<String, String>;

/// One kosoku at a time in a process: each picks its port by binding port 0
/// and letting it go, so two started at once can pick the same port, and the
/// loser's client then runs against the winner's server until that one exits
/// (seen as a connection refused halfway through a pass). One at a time also
/// keeps two suites from sharing the machine's two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A running kosoku fuzzing server, killed when dropped.
pub struct Kosoku {
    child: Child,
    /// Held until the server is dropped: see [`ONE_AT_A_TIME`].
    _turn: MutexGuard<'static, ()>,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    outdir: PathBuf,
}

fn kosoku_path() -> PathBuf {
    crate::peers::kosoku()
}

impl Kosoku {
    /// Starts the server with the case globs `cases`, writing its reports
    /// under `outdir` (emptied first), and waits until it listens.
    pub fn start(outdir: &Path, cases: &[&str]) -> Kosoku {
        // A test that panicked while holding the turn leaves no server behind
        // (its Kosoku was dropped), so the poison says nothing about ours.
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = std::fs::remove_dir_all(outdir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(kosoku_path());
        command.args(["-m", "fuzzingserver", "-o"]).arg(outdir);
        for case in cases {
            command.args(["-i", case]);
        }
        command
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start kosoku ({e}): run `{}` (or set KOSOKU)",
                crate::peers::INSTALL
            )
        });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "kosoku did not start listening"
            );
            assert!(
                matches!(child.try_wait(), Ok(None)),
                "kosoku exited at start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            matches!(child.try_wait(), Ok(None)),
            "kosoku exited at start (is port {port} taken?)"
        );
        Kosoku {
            child,
            _turn: turn,
            port,
            outdir: outdir.to_owned(),
        }
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// After the client opened `/updateReports`: waits for kosoku to exit
    /// and returns the verdicts it gave `agent`.
    pub fn verdicts(mut self, agent: &str) -> Verdicts {
        let deadline = Instant::now() + Duration::from_secs(60);
        while matches!(self.child.try_wait(), Ok(None)) {
            assert!(
                Instant::now() < deadline,
                "kosoku did not exit after its report"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let index = std::fs::read(self.outdir.join("index.json")).expect("kosoku wrote index.json");
        let index: serde_json::Value = serde_json::from_slice(&index).expect("index.json is JSON");
        let cases = index[agent]
            .as_object()
            .unwrap_or_else(|| panic!("{agent} is not in the report"));
        cases
            .iter()
            .map(|(id, v)| {
                let part = |key: &str| v[key].as_str().unwrap_or("MISSING").to_owned();
                (
                    id.clone(),
                    format!("{}/{}", part("behavior"), part("behaviorClose")),
                )
            })
            .collect()
    }
}

impl Drop for Kosoku {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 0 for OK and INFORMATIONAL, 1 NON-STRICT, 2 UNIMPLEMENTED, 3 anything
/// else (FAILED): the worse of the two halves of a verdict.
pub fn rank(verdict: &str) -> u8 {
    verdict
        .split('/')
        .map(|v| match v {
            "OK" | "INFORMATIONAL" => 0,
            "NON-STRICT" => 1,
            "UNIMPLEMENTED" => 2,
            _ => 3,
        })
        .max()
        .unwrap_or(3)
}
