//! Where the `threadkit-probe` helper program is (the workspace member `probe/`, kept out of
//! the published crate). `cargo test --workspace` builds it next to the test executables;
//! when a test binary runs without it (`cargo test -p threadkit --test ..`), it is built once
//! here, into this test target's scratch directory.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const NAME: &str = "threadkit-probe";

/// A `Command` for the probe binary.
pub fn probe() -> Command {
    Command::new(probe_path())
}

fn probe_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = format!("{NAME}{}", std::env::consts::EXE_SUFFIX);
        // target/<triple>/<profile>/deps/this-test -> target/<triple>/<profile>/threadkit-probe
        let me = std::env::current_exe().expect("the test executable's path");
        if let Some(beside) = me
            .parent()
            .and_then(|deps| deps.parent())
            .map(|d| d.join(&exe))
        {
            if beside.is_file() {
                return beside;
            }
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("probe");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", NAME, "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .arg("--target-dir")
            .arg(&dir)
            // A plain build: the probe runs as a process of its own (no sanitizer flags).
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("running cargo to build the probe");
        assert!(status.success(), "building {NAME} failed");
        dir.join("debug").join(exe)
    })
}
