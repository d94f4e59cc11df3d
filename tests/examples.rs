//! Runs every example of the seed (`examples/*.rs`) and checks an invariant of its output.
//!
//! How the examples are run, and why this way: a test must not call `cargo run` on the build
//! directory it is running from, because the outer `cargo test` may hold that directory's lock
//! (the inner cargo would wait forever). Instead:
//! 1. `cargo test` builds every example before it runs any test (that is how it checks that
//!    examples compile), into `target/<profile>/examples/`, next to this test's own `deps/`
//!    folder. When that binary exists and is newer than every source file it depends on, the
//!    test runs it directly.
//! 2. Otherwise (e.g. `cargo test --test examples`, which builds no examples), the test builds
//!    the example with `cargo build --example NAME` into a *separate* target directory,
//!    `target/examples-test`, whose lock nobody else holds, and runs that binary.
//!
//! Each example gets 60 s before it is killed and the test fails (a hang guard, not a timing
//! assertion). Miri cannot start processes, so this file is skipped there.
#![cfg(not(miri))]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const HANG_GUARD: Duration = Duration::from_secs(60);

fn newest_source(dir: &Path, newest: &mut SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            newest_source(&p, newest);
        } else if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
            *newest = (*newest).max(m);
        }
    }
}

fn example_binary(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    // target/<profile>/deps/examples-<hash>  ->  target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let prebuilt = profile_dir.join("examples").join(&file);

    let mut newest = SystemTime::UNIX_EPOCH;
    for dir in ["src", "sys/src"] {
        newest_source(&root.join(dir), &mut newest);
    }
    // A multi-file example (`examples/versus/`) is a folder.
    newest_source(&root.join("examples").join(name), &mut newest);
    let source = format!("examples/{name}.rs");
    for f in ["Cargo.toml", "sys/Cargo.toml", source.as_str()] {
        if let Ok(m) = std::fs::metadata(root.join(f)).and_then(|m| m.modified()) {
            newest = newest.max(m);
        }
    }
    let fresh = std::fs::metadata(&prebuilt)
        .and_then(|m| m.modified())
        .is_ok_and(|m| m >= newest);
    if fresh {
        return prebuilt;
    }

    let target = profile_dir
        .parent()
        .expect("target dir")
        .join("examples-test");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --example {name} failed");
    target.join("debug").join("examples").join(&file)
}

/// Runs the example and returns its stdout; fails on a non-zero exit or a hang.
fn run(name: &str) -> String {
    run_with(name, &[])
}

/// [`run`] with command-line arguments.
fn run_with(name: &str, args: &[&str]) -> String {
    let bin = example_binary(name);
    let spawn = || {
        Command::new(&bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    // A failure to start the process at all is the OS's, not the example's: Wine's
    // CreateProcess once refused with "Internal error" (os error 1359) in CI. One more try
    // after a pause; the example's own failures are never retried.
    let mut child = spawn()
        .or_else(|_| {
            std::thread::sleep(Duration::from_millis(200));
            spawn()
        })
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait for example") {
            Some(_) => break,
            None if started.elapsed() > HANG_GUARD => {
                let _ = child.kill();
                panic!("example {name} did not finish within {HANG_GUARD:?}");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = child.wait_with_output().expect("collect output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "example {name} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

/// The value after `key` (up to the end of the line), for lines `key<sep>value`.
fn value<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no line starting with {key:?} in:\n{out}"))
}

fn number(out: &str, key: &str) -> u64 {
    let v = value(out, key);
    v.parse()
        .unwrap_or_else(|_| panic!("{key}{v} is not a number"))
}

fn check_producer_consumer(out: &str) {
    assert_eq!(value(out, "producers="), "3 consumers=2 capacity=5");
    assert_eq!(number(out, "produced="), 600);
    assert_eq!(
        number(out, "consumed="),
        600,
        "every produced item is consumed once"
    );
    assert_eq!(number(out, "consumed_by_consumers="), 600);
    let max = number(out, "max_len=");
    assert!(
        (1..=5).contains(&max),
        "the buffer never holds more than its capacity: {max}"
    );
    assert_eq!(
        value(out, "checksum_ok="),
        "true",
        "the consumers saw exactly the produced items"
    );
}

#[test]
fn producer_consumer_condition() {
    check_producer_consumer(&run("producer_consumer_condition"));
}

#[test]
fn producer_consumer_condvar() {
    check_producer_consumer(&run("producer_consumer_condvar"));
}

#[test]
fn producer_consumer_queue() {
    check_producer_consumer(&run("producer_consumer_queue"));
}

/// The docs' worker pool: `join` returns only once every item was marked done, and the
/// shutdown lets every worker out of its loop.
#[test]
fn worker_pool_queue() {
    let out = run("worker_pool_queue");
    assert_eq!(number(&out, "items="), 30);
    assert_eq!(number(&out, "done_at_join="), 30, "join returned early");
    assert!(out.contains("All work completed"));
    assert_eq!(number(&out, "workers_exited="), 3);
    assert_eq!(value(&out, "checksum_ok="), "true");
}

#[test]
fn connection_pool() {
    let out = run("connection_pool");
    assert_eq!(number(&out, "served="), 36);
    let max = number(&out, "max_in_use=");
    assert!(
        (1..=5).contains(&max),
        "never more than 5 connections at once, saw {max}"
    );
    assert_eq!(number(&out, "value_after="), 5);
    assert_eq!(value(&out, "extra_release="), "TooManyReleases");
}

#[test]
fn timer_hello() {
    let out = run("timer_hello");
    assert_eq!(
        out.lines().filter(|l| *l == "hello, world").count(),
        1,
        "the timer said hello once:\n{out}"
    );
    assert_eq!(out.lines().next(), Some("hello, world"));
    assert_eq!(value(&out, "waited_at_least_interval="), "true");
    assert_eq!(value(&out, "cancelled_timer_ran="), "false");
}

#[test]
fn barrier_action() {
    let out = run("barrier_action");
    let rounds: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("action: round "))
        .collect();
    let expected: Vec<String> = (1..=4)
        .map(|r| format!("action: round {r}, all 3 parties arrived"))
        .collect();
    assert_eq!(rounds, expected, "the action ran once per round, in order");
    assert_eq!(value(&out, "parties="), "3 rounds=4");
    assert_eq!(value(&out, "indices_unique_per_round="), "true");
    assert_eq!(value(&out, "broken="), "false");
}

#[test]
fn event_start_signal() {
    let out = run("event_start_signal");
    assert_eq!(value(&out, "workers="), "4 ready=4");
    assert_eq!(value(&out, "wait_timeout_before_set="), "timed out");
    assert_eq!(
        number(&out, "started_after_signal="),
        4,
        "no worker ran before the signal"
    );
    assert_eq!(value(&out, "is_set="), "true");
}

#[test]
fn thread_local_data() {
    let out = run("thread_local_data");
    let mut seen = 0;
    for line in out.lines().filter(|l| l.starts_with("thread ")) {
        // "thread i: x=X expected=E log_entries=1"
        let x = line.split("x=").nth(1).and_then(|s| s.split(' ').next());
        let e = line
            .split("expected=")
            .nth(1)
            .and_then(|s| s.split(' ').next());
        assert_eq!(x, e, "each thread sees only its own value: {line}");
        assert!(line.ends_with("log_entries=1"), "{line}");
        seen += 1;
    }
    assert_eq!(seen, 4);
    assert_eq!(
        value(&out, "main: x="),
        "1",
        "the main thread's value is its own"
    );
}

#[test]
fn lock_vs_rlock() {
    let out = run("lock_vs_rlock");
    for (key, want) in [
        ("lock: try_acquire while held -> ", "false"),
        ("lock: acquire_timeout(100 ms) while held -> ", "false"),
        ("lock: released by another thread -> ", "true"),
        ("lock: locked after that -> ", "false"),
        ("lock: release when unlocked -> ", "Err(NotLocked)"),
        ("rlock: try_acquire while held by me -> ", "true"),
        ("rlock: recursion_count -> ", "3"),
        ("rlock: is_owned -> ", "true"),
        ("rlock: release by another thread -> ", "Err(NotOwner)"),
        ("rlock: recursion_count seen by another thread -> ", "0"),
        ("rlock: locked after 2 of 3 releases -> ", "true"),
        ("rlock: locked after 3 of 3 releases -> ", "false"),
    ] {
        assert_eq!(value(&out, key), want, "{key}");
    }
}

#[test]
fn thread_tour() {
    let out = run("thread_tour");
    assert_eq!(value(&out, "current_thread: "), "MainThread");
    assert_eq!(value(&out, "is_main_thread: "), "true");
    assert_eq!(value(&out, "get_ident_matches: "), "true");
    let alone = number(&out, "active_count_alone: ");
    assert_eq!(number(&out, "active_count_with_workers: "), alone + 3);
    assert_eq!(number(&out, "active_count_after_join: "), alone);
    let names = value(&out, "enumerate: ");
    for n in ["MainThread", "alpha", "beta", "gamma"] {
        assert!(
            names.split(", ").any(|x| x == n),
            "{n} missing from enumerate(): {names}"
        );
    }
    assert_eq!(value(&out, "workers_alive: "), "true");
    assert_eq!(value(&out, "idents_distinct: "), "true");
    assert_eq!(value(&out, "workers_alive_after_join: "), "false");
    assert_eq!(
        value(&out, "foreign_thread: "),
        "name starts with Dummy: true, daemon: true"
    );
}

/// The main job, `versus`, end to end on a small selection: the table lists threadkit beside
/// every baseline with a ratio, and `--json` writes the same rows. (A smoke test of the tool:
/// its numbers are not checked, only that they are there; in a debug build they mean nothing.)
#[test]
fn versus_prints_the_table_and_json() {
    let json = std::env::temp_dir().join(format!("threadkit-versus-{}.json", std::process::id()));
    let json_arg = json.to_str().expect("temp path is UTF-8");
    let out = run_with(
        "versus",
        &[
            "--quick",
            "--filter",
            "Lock uncontended",
            "--filter",
            "size_of Event",
            "--json",
            json_arg,
        ],
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("Lock uncontended"))
        .unwrap_or_else(|| panic!("no Lock uncontended row in:\n{out}"));
    // threadkit, std, parking_lot (and libc on unix) times, then one ratio per baseline.
    let times = row.matches(" ns").count();
    assert!(times >= 3, "{row}");
    let ratios = row
        .split_whitespace()
        .filter(|w| w.contains('.') && w.parse::<f64>().is_ok_and(|x| x > 0.0))
        .count();
    assert!(ratios >= 2 * (times - 1), "a ratio per baseline: {row}");
    let size = out
        .lines()
        .find(|l| l.starts_with("size_of Event"))
        .unwrap_or_else(|| panic!("no size_of Event row in:\n{out}"));
    assert!(size.contains(" 4 B "), "Event is 4 bytes: {size}");
    let written = std::fs::read_to_string(&json).expect("--json wrote its file");
    let _ = std::fs::remove_file(&json);
    assert!(
        written.contains("\"scenario\": \"Lock uncontended\""),
        "{written}"
    );
    assert!(written.contains("\"ratios\": {\"std\": "), "{written}");
}
