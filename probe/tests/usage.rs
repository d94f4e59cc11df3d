//! The probe's own check (it also makes `cargo test --workspace` build the probe binary, next
//! to the test executables where threadkit's tests/common/probe.rs finds it).

#[test]
fn without_a_mode_it_prints_its_usage_and_fails() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_threadkit-probe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: threadkit-probe"));
}
