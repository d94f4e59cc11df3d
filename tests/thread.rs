//! `Thread`: CPython's test_threading.py behaviours for the life of a thread (start, join and
//! its rules, idents, names, daemon rules), joins from several threads and start/join races.
//! Stack sizes and thread counts are in thread_stack.rs, panics in thread_panic.rs, what
//! happens to threads at process exit and in a fork child in thread_process.rs.

mod common;

use common::{Gate, serial};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
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
    // The main thread may be joined from another thread (CPython: it returns once the main
    // thread has finished); while it runs, a timed join times out.
    let main = threadkit::main_thread();
    let h = threadkit::spawn(move || main.join_timeout(std::time::Duration::from_millis(10)));
    assert!(matches!(h.join().unwrap(), Ok(false)));
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
    let comm = || {
        let tid = threadkit::get_native_id();
        std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap()
    };
    // An unnamed thread ("Thread-N") keeps the OS name of the thread that created it.
    let h = threadkit::spawn(comm);
    assert!(h.thread().name().starts_with("Thread-"));
    let unnamed = h.join().unwrap();
    assert_eq!(unnamed, comm(), "an unnamed thread set an OS name");
    // A name given at construction is the OS name (truncated to 15 bytes).
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

#[test]
fn join_returns_after_thread_local_destructors() {
    // As std's JoinHandle::join and CPython 3.13's join: the OS thread is joined.
    let _s = serial(); // process-wide counts and hooks
    let (flag, target) = common::leaves_tls_behind();
    let t = Thread::new(target);
    t.start().unwrap();
    t.join().unwrap();
    assert!(
        flag.load(SeqCst),
        "join() returned before the thread's TLS was destroyed"
    );
    t.join().unwrap(); // again: the OS thread is joined once, later joins return at once

    let (flag, target) = common::leaves_tls_behind();
    let t = Thread::new(target);
    t.start().unwrap();
    assert!(t.join_timeout(Duration::from_secs(60)).unwrap());
    assert!(
        flag.load(SeqCst),
        "join_timeout() returned before the TLS was destroyed"
    );

    let (flag, target) = common::leaves_tls_behind();
    threadkit::spawn(target).join().unwrap();
    assert!(
        flag.load(SeqCst),
        "JoinHandle::join returned before the TLS was destroyed"
    );
}

#[test]
fn joiners_all_wait_for_the_os_thread() {
    let _s = serial(); // process-wide counts and hooks
    let rounds = if cfg!(miri) { 2 } else { 20 };
    for _ in 0..rounds {
        let (flag, target) = common::leaves_tls_behind();
        let t = Thread::new(target);
        // Joiners that start before the thread does: they keep trying until it has started,
        // so some see it finished before `start()` has stored the OS handle.
        let joiners: Vec<_> = (0..3)
            .map(|_| {
                let (t, flag) = (t.clone(), flag.clone());
                threadkit::spawn(move || {
                    loop {
                        match t.join() {
                            Ok(()) => break,
                            Err(Error::NotStarted) => std::hint::spin_loop(),
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                    assert!(
                        flag.load(SeqCst),
                        "a joiner returned before the OS thread ended"
                    );
                })
            })
            .collect();
        t.start().unwrap();
        for j in joiners {
            j.join().unwrap();
        }
        t.join().unwrap();
    }
}

#[test]
fn a_thread_never_joined_is_detached() {
    let _s = serial(); // process-wide counts and hooks
    // Every handle dropped while the thread runs: the last one goes with the thread itself.
    let gate = Arc::new(Gate::new());
    let done = Arc::new(Gate::new());
    let (g, d) = (gate.clone(), done.clone());
    let t = Thread::new(move || {
        g.wait();
        d.open();
    });
    t.start().unwrap();
    drop(t);
    gate.open();
    done.wait();
}

#[test]
fn default_name_takes_a_number_only_when_needed() {
    // Python: Thread(name='a'); Thread() gives Thread-1.
    let _s = serial(); // process-wide counts and hooks
    let n = |s: String| s.strip_prefix("Thread-").unwrap().parse::<usize>().unwrap();
    let first = n(Thread::new(|| {}).name());
    let named = Thread::new(|| {}).with_name("a");
    let unnamed = Thread::new(|| {});
    let started_named = Thread::new(|| {}).with_name("b");
    started_named.start().unwrap();
    started_named.join().unwrap();
    assert_eq!(named.name(), "a");
    assert_eq!(n(unnamed.name()), first + 1, "a named thread took a number");
    // A thread that starts without a name takes its number by the time start() returns.
    let t = Thread::new(|| {});
    t.start().unwrap();
    let next = n(Thread::new(|| {}).name());
    assert_eq!(n(t.name()), first + 2);
    assert_eq!(next, first + 3);
    t.join().unwrap();
}

#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "Miri has no /proc")]
fn set_name_on_itself_sets_the_os_name() {
    // As CPython 3.14: a running thread that renames itself renames its OS thread too.
    let _s = serial(); // process-wide counts and hooks
    let comm = || {
        let tid = threadkit::get_native_id();
        let c = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap();
        c.trim_end().to_string()
    };
    let h = threadkit::spawn(move || {
        let before = comm();
        threadkit::current_thread().set_name("renamed-self");
        (before, comm(), threadkit::current_thread().name())
    });
    let (before, after, name) = h.join().unwrap();
    assert_eq!(
        before,
        comm(),
        "an unnamed thread keeps its creator's OS name"
    );
    assert_eq!(after, "renamed-self");
    assert_eq!(name, "renamed-self");
    // Renaming another running thread changes only its name here, not its OS name.
    let gate = Arc::new(Gate::new());
    let g = gate.clone();
    let h = threadkit::Builder::new()
        .name("inside")
        .spawn(move || {
            g.wait();
            comm()
        })
        .unwrap();
    let t = h.thread().clone();
    // Running: its ids are there (`native_id` waits for them), and it set its OS name before.
    assert!(t.native_id().is_some());
    t.set_name("from-outside");
    gate.open();
    let os_name = h.join().unwrap();
    assert_eq!(os_name, "inside");
    assert_eq!(t.name(), "from-outside");
}
