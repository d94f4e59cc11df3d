//! `Thread` and `spawn`: CPython's test_threading.py behaviours (lifecycle, names, idents,
//! daemon rules, join rules, panics/excepthook, stack sizes) plus stress: 10,000 threads
//! alive at once, start/join races, joins from several threads, a panic storm.

mod common;

use common::{EXPECTED, Gate, quiet_expected_panics, serial};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use threadkit::{Error, Thread};

const SMALL: usize = if cfg!(miri) { 4 } else { 50 };

#[test]
fn lifecycle_start_join() {
    let _s = serial(); // process-wide counts and hooks
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let t = Thread::new(move || r.store(true, SeqCst));
    assert!(!t.is_alive());
    assert_eq!(t.ident(), None);
    assert_eq!(t.native_id(), None);
    assert!(matches!(t.join(), Err(Error::NotStarted)));
    assert!(matches!(
        t.join_timeout(Duration::ZERO),
        Err(Error::NotStarted)
    ));
    t.start().unwrap();
    assert!(t.ident().is_some());
    assert!(t.native_id().is_some());
    assert!(matches!(t.start(), Err(Error::AlreadyStarted)));
    t.join().unwrap();
    t.join().unwrap(); // any number of times
    assert!(t.join_timeout(Duration::ZERO).unwrap());
    assert!(!t.is_alive());
    assert!(ran.load(SeqCst));
    assert!(!t.panicked());
    assert!(matches!(t.start(), Err(Error::AlreadyStarted)));
    assert!(format!("{t:?}").contains("stopped"));
}

#[test]
fn start_returns_with_ids_and_registered() {
    let _s = serial(); // process-wide counts and hooks
    let gate = Arc::new(Gate::new());
    let g = gate.clone();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let t = Thread::new(move || {
        *s.lock().unwrap() = Some((threadkit::get_ident(), threadkit::get_native_id()));
        g.wait();
    });
    t.start().unwrap();
    // Registered and alive as soon as start() returns (Python's `_started.wait()`).
    assert!(t.is_alive());
    assert!(threadkit::enumerate().contains(&t));
    gate.open();
    t.join().unwrap();
    let (ident, native) = seen.lock().unwrap().unwrap();
    assert_eq!(t.ident(), Some(ident));
    assert_eq!(t.native_id(), Some(native));
    assert!(!threadkit::enumerate().contains(&t));
}

#[test]
fn clones_are_the_same_thread() {
    let _s = serial(); // process-wide counts and hooks
    let t = Thread::new(|| {});
    let u = t.clone();
    assert_eq!(t, u);
    assert_ne!(t, Thread::new(|| {}));
    u.start().unwrap();
    assert!(matches!(t.start(), Err(Error::AlreadyStarted)));
    t.join().unwrap();
    assert!(!u.is_alive());
}

#[test]
fn current_thread_inside_is_the_thread() {
    let _s = serial(); // process-wide counts and hooks
    let out = Arc::new(Mutex::new(None));
    let o = out.clone();
    let t = Thread::new(move || *o.lock().unwrap() = Some(threadkit::current_thread()));
    t.start().unwrap();
    t.join().unwrap();
    assert_eq!(out.lock().unwrap().take().unwrap(), t);
}

#[test]
fn join_self_is_an_error() {
    let _s = serial(); // process-wide counts and hooks
    let res = Arc::new(Mutex::new(None));
    let r = res.clone();
    let t = Thread::new(move || {
        *r.lock().unwrap() = Some(threadkit::current_thread().join());
    });
    t.start().unwrap();
    t.join().unwrap();
    assert!(matches!(
        res.lock().unwrap().take(),
        Some(Err(Error::JoinSelf))
    ));
}

#[test]
fn join_dummy_and_main_are_errors() {
    let _s = serial(); // process-wide counts and hooks
    let dummy = std::thread::spawn(threadkit::current_thread)
        .join()
        .unwrap();
    assert!(matches!(dummy.join(), Err(Error::DummyThread)));
    let main = threadkit::main_thread();
    let h = threadkit::spawn(move || main.join());
    assert!(matches!(h.join().unwrap(), Err(Error::DummyThread)));
    assert!(matches!(dummy.start(), Err(Error::AlreadyStarted)));
}

#[test]
fn join_timeout_waits_then_reports() {
    let _s = serial(); // process-wide counts and hooks
    let gate = Arc::new(Gate::new());
    let g = gate.clone();
    let t = Thread::new(move || g.wait());
    t.start().unwrap();
    let begin = Instant::now();
    assert!(!t.join_timeout(Duration::from_millis(50)).unwrap());
    assert!(
        begin.elapsed() >= Duration::from_millis(50),
        "returned early"
    );
    assert!(t.is_alive());
    gate.open();
    assert!(t.join_timeout(threadkit::TIMEOUT_MAX * 2).unwrap()); // too large: no timeout
    assert!(!t.is_alive());
}

#[test]
fn joins_from_several_threads() {
    let _s = serial(); // process-wide counts and hooks
    let gate = Arc::new(Gate::new());
    let g = gate.clone();
    let t = Thread::new(move || g.wait());
    t.start().unwrap();
    let joiners: Vec<_> = (0..SMALL.min(8))
        .map(|_| {
            let t = t.clone();
            threadkit::spawn(move || {
                t.join().unwrap();
                assert!(!t.is_alive());
            })
        })
        .collect();
    gate.open();
    for j in joiners {
        j.join().unwrap();
    }
}

#[test]
fn default_names_and_set_name() {
    let _s = serial(); // process-wide counts and hooks
    let a = Thread::new(|| {});
    let b = Thread::new(|| {});
    let na: usize = a.name().strip_prefix("Thread-").unwrap().parse().unwrap();
    let nb: usize = b.name().strip_prefix("Thread-").unwrap().parse().unwrap();
    assert!(nb > na);
    let c = Thread::new(|| {}).with_name("worker");
    assert_eq!(c.name(), "worker");
    c.set_name("renamed");
    assert_eq!(c.name(), "renamed");
    assert!(format!("{c:?}").contains("renamed"));
}

#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "Miri has no /proc")]
fn os_thread_name_is_set() {
    let _s = serial(); // process-wide counts and hooks
    let h = threadkit::spawn(|| {
        let tid = threadkit::get_native_id();
        std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap()
    });
    // spawn's thread is named "Thread-N".
    let comm = h.join().unwrap();
    assert!(comm.starts_with("Thread-"), "{comm:?}");
    let t = Thread::new(|| {
        let tid = threadkit::get_native_id();
        let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap();
        assert_eq!(comm.trim_end(), "a-very-long-thr");
    })
    .with_name("a-very-long-thread-name");
    t.start().unwrap();
    t.join().unwrap();
    assert!(!t.panicked(), "OS name was not set (truncated to 15 bytes)");
}

#[test]
fn idents_are_distinct_among_live_threads() {
    let _s = serial(); // process-wide counts and hooks
    let gate = Arc::new(Gate::new());
    let ts: Vec<Thread> = (0..SMALL)
        .map(|_| {
            let g = gate.clone();
            let t = Thread::new(move || g.wait());
            t.start().unwrap();
            t
        })
        .collect();
    let mut ids: Vec<u64> = ts.iter().map(|t| t.ident().unwrap()).collect();
    let mut natives: Vec<u64> = ts.iter().map(|t| t.native_id().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    natives.sort_unstable();
    natives.dedup();
    assert_eq!(ids.len(), SMALL);
    assert_eq!(natives.len(), SMALL);
    gate.open();
    for t in ts {
        t.join().unwrap();
    }
}

#[test]
fn daemon_rules() {
    let _s = serial(); // process-wide counts and hooks
    // A thread created by a foreign (std) thread inherits its dummy's daemon flag: true.
    let t = Thread::new(|| {});
    assert!(t.daemon());
    // Created inside a non-daemon threadkit thread: not a daemon.
    let h = threadkit::spawn(|| Thread::new(|| {}).with_daemon(false));
    let parent = h.thread().clone();
    assert!(parent.daemon());
    h.join().unwrap();
    let child_daemon = Arc::new(Mutex::new(None));
    let c = child_daemon.clone();
    let parent = Thread::new(move || *c.lock().unwrap() = Some(Thread::new(|| {}).daemon()))
        .with_daemon(false);
    parent.start().unwrap();
    parent.join().unwrap();
    assert_eq!(
        *child_daemon.lock().unwrap(),
        Some(false),
        "a non-daemon thread's child is not a daemon"
    );
    let c = child_daemon.clone();
    let parent = Thread::new(move || *c.lock().unwrap() = Some(Thread::new(|| {}).daemon()))
        .with_daemon(true);
    parent.start().unwrap();
    parent.join().unwrap();
    assert_eq!(
        *child_daemon.lock().unwrap(),
        Some(true),
        "a daemon thread's child is a daemon"
    );
    let d = Thread::new(|| {}).with_daemon(false);
    assert!(!d.daemon());
    d.set_daemon(true).unwrap();
    d.start().unwrap();
    assert!(matches!(d.set_daemon(false), Err(Error::ThreadActive)));
    let d = d.with_daemon(false); // no effect after start
    assert!(d.daemon());
    d.join().unwrap();
    assert!(matches!(
        threadkit::main_thread().set_daemon(true),
        Err(Error::ThreadActive)
    ));
}

#[test]
fn stack_size_rules() {
    let _s = serial(); // process-wide counts and hooks
    let t = Thread::new(|| {}).with_stack_size(1000);
    assert!(matches!(t.start(), Err(Error::InvalidStackSize(1000))));
    assert!(!t.is_alive());
    let t = t.with_stack_size(64 * 1024); // still NEW: the builder applies
    t.start().unwrap();
    t.join().unwrap();
    let t = Thread::new(|| {}).with_stack_size(32 * 1024 + 1); // rounded up to a page
    t.start().unwrap();
    t.join().unwrap();
}

/// Recurses until the stack in use (measured by address) reaches `target` bytes.
#[inline(never)]
fn dig(base: usize, target: usize) -> usize {
    let frame = std::hint::black_box([7u8; 512]);
    let here = std::hint::black_box(&frame) as *const _ as usize;
    if base.abs_diff(here) >= target {
        frame[0] as usize
    } else {
        dig(base, target) + std::hint::black_box(frame[1]) as usize
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri ignores the stack size")]
fn stack_of_n_bytes_is_really_usable() {
    let _s = serial(); // process-wide counts and hooks
    // 256 KiB requested: use 75% of it (the rest covers the thread's own frames and TLS).
    const N: usize = 256 * 1024;
    let t = Thread::new(|| {
        let base = 0u8;
        let base = std::hint::black_box(&base) as *const u8 as usize;
        dig(base, N * 3 / 4);
    })
    .with_stack_size(N);
    t.start().unwrap();
    t.join().unwrap();
    assert!(!t.panicked());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot model an OS that refuses a stack")]
fn impossible_stack_is_an_os_error_and_leaks_nothing() {
    let _s = serial(); // process-wide counts and hooks
    let witness = Arc::new(());
    let w = witness.clone();
    let t = Thread::new(move || drop(w)).with_stack_size(1 << 40); // 1 TiB
    let next_before = Thread::new(|| {}).name();
    match t.start() {
        Err(Error::Os(e)) => eprintln!("1 TiB stack refused as expected: {e}"),
        Ok(()) => {
            eprintln!("skipped: this OS granted a 1 TiB stack");
            t.join().unwrap();
            return;
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
    assert!(!threadkit::enumerate().contains(&t), "not registered");
    let next_after = Thread::new(|| {}).name();
    let n = |s: String| s.strip_prefix("Thread-").unwrap().parse::<usize>().unwrap();
    assert_eq!(n(next_after), n(next_before) + 1, "start consumed no name");
    assert!(!t.is_alive());
    assert_eq!(
        Arc::strong_count(&witness),
        2,
        "the target is still owned by the Thread"
    );
    drop(t);
    assert_eq!(Arc::strong_count(&witness), 1, "nothing leaked");
}

#[test]
fn spawn_returns_value_and_panic() {
    let _s = serial(); // process-wide counts and hooks
    quiet_expected_panics();
    let h = threadkit::spawn(|| vec![1, 2, 3]);
    assert_eq!(h.join().unwrap(), vec![1, 2, 3]);
    threadkit::set_excepthook(Some(Arc::new(|_: &threadkit::ExceptHookArgs<'_>| {})));
    let h = threadkit::spawn(|| -> u32 { panic!("{EXPECTED}boom {}", 7) });
    let t = h.thread().clone();
    let err = h.join().unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied());
    assert_eq!(msg, Some(format!("{EXPECTED}boom 7").as_str()));
    assert!(t.panicked());
    threadkit::set_excepthook(None);
}

#[test]
fn panic_is_caught_and_reported_to_excepthook() {
    let _s = serial(); // process-wide counts and hooks
    quiet_expected_panics();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    threadkit::set_excepthook(Some(Arc::new(move |a: &threadkit::ExceptHookArgs<'_>| {
        // The hook may use the registry freely.
        let _ = threadkit::enumerate();
        assert_eq!(threadkit::current_thread(), *a.thread);
        s.lock()
            .unwrap()
            .push((a.thread.name(), a.message().map(str::to_owned)));
    })));
    let t = Thread::new(|| panic!("{EXPECTED}kaboom")).with_name("bad");
    t.start().unwrap();
    t.join().unwrap();
    assert!(t.panicked());
    assert!(!t.is_alive());
    threadkit::set_excepthook(None);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![("bad".to_string(), Some(format!("{EXPECTED}kaboom")))]
    );
    // A panicking excepthook is contained too.
    threadkit::set_excepthook(Some(Arc::new(|_: &threadkit::ExceptHookArgs<'_>| {
        panic!("{EXPECTED}hook")
    })));
    let t = Thread::new(|| panic!("{EXPECTED}again"));
    t.start().unwrap();
    t.join().unwrap();
    assert!(t.panicked());
    threadkit::set_excepthook(None);
}

#[test]
fn panic_storm() {
    let _s = serial(); // process-wide counts and hooks
    let n = if cfg!(miri) { 4 } else { 200 };
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    threadkit::set_excepthook(Some(Arc::new(move |_: &threadkit::ExceptHookArgs<'_>| {
        c.fetch_add(1, SeqCst);
    })));
    quiet_expected_panics();
    let ts: Vec<Thread> = (0..n)
        .map(|i| {
            let t = Thread::new(move || {
                if i % 2 == 0 {
                    panic!("{EXPECTED}storm {i}")
                }
            });
            t.start().unwrap();
            t
        })
        .collect();
    for t in &ts {
        t.join().unwrap();
    }
    threadkit::set_excepthook(None);
    assert_eq!(count.load(SeqCst), n / 2);
    assert_eq!(ts.iter().filter(|t| t.panicked()).count(), n / 2);
}

#[test]
fn start_join_races() {
    let _s = serial(); // process-wide counts and hooks
    // Many threads start and join each other's threads concurrently.
    let rounds = if cfg!(miri) { 2 } else { 50 };
    let workers: Vec<_> = (0..4)
        .map(|_| {
            threadkit::spawn(move || {
                for _ in 0..rounds {
                    let t = Thread::new(|| {});
                    let u = t.clone();
                    let racer = threadkit::spawn(move || {
                        // Either NotStarted (lost the race) or a successful join.
                        match u.join() {
                            Ok(()) => assert!(!u.is_alive()),
                            Err(Error::NotStarted) => {}
                            Err(e) => panic!("{e:?}"),
                        }
                    });
                    t.start().unwrap();
                    t.join().unwrap();
                    racer.join().unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

/// The documented thread limits of this Linux system; `None` elsewhere (macOS allows about
/// 2,000 threads per process; Windows and Wine have no cheap query).
#[cfg(target_os = "linux")]
fn thread_limit() -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok();
    let mut limit = read("/proc/sys/kernel/threads-max")?;
    if let Some(p) = read("/sys/fs/cgroup/pids.max") {
        limit = limit.min(p);
    }
    {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `r` is a valid out-pointer for getrlimit.
        if unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut r) } == 0
            && r.rlim_cur != libc::RLIM_INFINITY
        {
            #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
            let cur = r.rlim_cur as u64;
            limit = limit.min(cur);
        }
    }
    Some(limit)
}

#[cfg(not(target_os = "linux"))]
fn thread_limit() -> Option<u64> {
    None
}

#[test]
#[cfg_attr(miri, ignore = "10,000 threads are far beyond what Miri can run")]
fn ten_thousand_threads_with_64k_stacks() {
    let _s = serial(); // process-wide counts and hooks
    const N: usize = 10_000;
    match thread_limit() {
        Some(l) if l >= (N + 500) as u64 => {}
        other => {
            eprintln!("skipped: the system allows {other:?} threads, below {N} + margin");
            return;
        }
    }
    let gate = Arc::new(Gate::new());
    let alive = Arc::new(AtomicUsize::new(0));
    let mut ts = Vec::with_capacity(N);
    for _ in 0..N {
        let (g, a) = (gate.clone(), alive.clone());
        let t = Thread::new(move || {
            a.fetch_add(1, SeqCst);
            g.wait();
        })
        .with_stack_size(64 * 1024);
        if let Err(e) = t.start() {
            gate.open();
            for t in &ts {
                let _: &Thread = t;
                t.join().unwrap();
            }
            eprintln!("skipped: the OS refused thread {} of {N}: {e}", ts.len());
            return;
        }
        ts.push(t);
    }
    assert!(common::eventually(|| alive.load(SeqCst) == N));
    assert!(ts.iter().all(Thread::is_alive));
    gate.open();
    for t in &ts {
        t.join().unwrap();
    }
    assert!(ts.iter().all(|t| !t.is_alive()));
}

#[test]
#[cfg_attr(miri, ignore = "runs a child process")]
fn shutdown_waits_for_non_daemon_and_abandons_daemon() {
    let _s = serial(); // process-wide counts and hooks
    let dir = std::env::temp_dir().join(format!("threadkit-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("marker");
    let _ = std::fs::remove_file(&marker);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_threadkit-probe"))
        .arg("shutdown")
        .arg(&marker)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("main returns"), "{stdout}");
    assert!(
        !stdout.contains("daemon still running"),
        "daemon thread was waited for"
    );
    let text = std::fs::read_to_string(&marker).unwrap_or_default();
    assert_eq!(
        text, "non-daemon done",
        "the process did not wait for the non-daemon thread"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[cfg_attr(miri, ignore = "runs a child process")]
fn default_excepthook_prints_like_python() {
    let _s = serial(); // process-wide counts and hooks
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_threadkit-probe"))
        .arg("panic")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Exception in thread worker:\nboom"),
        "{stderr}"
    );
}
