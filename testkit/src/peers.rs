//! Where the pinned test peers live, and the one message a test gives when
//! one is missing: `scripts/install-peers` (run by `scripts/test`, the
//! README's test command) installs them into the repository. A test whose
//! peer is missing fails with that command; it is never skipped.

use std::path::PathBuf;

/// The command that installs every pinned peer into the repository.
pub const INSTALL: &str = "scripts/install-peers";

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn require(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is not installed at {}: run `{INSTALL}` (or `scripts/test`, which runs it)",
        path.display()
    );
    path
}

/// The Python of `.venv-peers` (websockets 17.4, PyJWT 2.15.1, cryptography
/// 50.0.2). `$PYTHON`
/// overrides it.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("PYTHON") {
        return path.into();
    }
    require(
        repo_root().join(".venv-peers/bin/python"),
        "the peers' Python venv (websockets 17.4, PyJWT 2.15.1, cryptography 50.0.2)",
    )
}

/// The Python of `.venv-export`: the independent readers of `orderwire
/// export`'s files, pyarrow 26.0.1 and hftbacktest 2.4.4 (with numba
/// 0.61.2 and numpy 2.2.6, the versions it was built against).
pub fn export_python() -> PathBuf {
    require(
        repo_root().join(".venv-export/bin/python"),
        "the export readers' Python venv (pyarrow 26.0.1, hftbacktest 2.4.4)",
    )
}

/// `node`, after checking that interop/node_modules holds `ws`.
pub fn node() -> PathBuf {
    require(
        repo_root().join("interop/node_modules/ws/package.json"),
        "Node ws 8.23.0",
    );
    PathBuf::from("node")
}

/// kosoku, the Autobahn|Testsuite: `$KOSOKU`, else `.venv-ab/bin/kosoku`.
pub fn kosoku() -> PathBuf {
    if let Some(path) = std::env::var_os("KOSOKU") {
        return path.into();
    }
    require(
        repo_root().join(".venv-ab/bin/kosoku"),
        "kosoku 0.1.0 (the Autobahn|Testsuite)",
    )
}

/// The program for a peer named as the interop scripts are run: `python3`
/// or `node`.
pub fn program(name: &str) -> PathBuf {
    match name {
        "python3" | "python" => python(),
        "node" => node(),
        other => PathBuf::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_peer_fails_naming_the_install_command() {
        let missing = repo_root().join(".venv-peers/not-a-peer");
        let message = std::panic::catch_unwind(|| require(missing, "a peer"))
            .expect_err("a missing peer fails");
        let text = message
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert!(text.contains(INSTALL), "{text}");
        assert!(text.contains("scripts/test"), "{text}");
    }
}
