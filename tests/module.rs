//! The module functions: current_thread (and foreign threads' dummies), main_thread,
//! enumerate, active_count, get_ident, get_native_id, stack_size, set_stack_size, TIMEOUT_MAX,
//! settrace/gettrace, setprofile/getprofile (CPython test_threading.py behaviours).

mod common;

use common::{Gate, eventually, serial};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use threadkit::{Error, Thread, ThreadEvent};

const N: usize = if cfg!(miri) { 3 } else { 20 };

#[test]
fn get_ident_matches_current_thread() {
    let _s = serial();
    let me = threadkit::current_thread();
    assert_eq!(me.ident(), Some(threadkit::get_ident()));
    assert_eq!(me.native_id(), Some(threadkit::get_native_id()));
    let h = threadkit::spawn(|| (threadkit::get_ident(), threadkit::current_thread().ident()));
    let (a, b) = h.join().unwrap();
    assert_eq!(Some(a), b);
    assert_ne!(a, threadkit::get_ident());
}

#[cfg(target_os = "linux")]
#[test]
fn native_id_is_gettid() {
    let _s = serial();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() } as u64;
    assert_eq!(threadkit::get_native_id(), tid);
}

#[test]
fn foreign_thread_gets_a_dummy_that_goes_away() {
    let _s = serial();
    let (tx, rx) = std::sync::mpsc::channel();
    let gate = Arc::new(Gate::new());
    let g = gate.clone();
    let h = std::thread::spawn(move || {
        let me = threadkit::current_thread();
        assert_eq!(
            me,
            threadkit::current_thread(),
            "the same handle every time"
        );
        tx.send(me).unwrap();
        g.wait();
    });
    let dummy = rx.recv().unwrap();
    assert!(dummy.name().starts_with("Dummy-"), "{}", dummy.name());
    assert!(dummy.daemon());
    assert!(dummy.is_alive());
    assert!(dummy.ident().is_some());
    assert!(threadkit::enumerate().contains(&dummy));
    assert!(matches!(dummy.join(), Err(Error::DummyThread)));
    gate.open();
    h.join().unwrap();
    // std's join returns after the thread's TLS destructors ran: the dummy is gone.
    assert!(!dummy.is_alive());
    assert!(!threadkit::enumerate().contains(&dummy));
}

/// Once a threadkit thread's run is over, its OS thread is no longer that `Thread`: a
/// `thread_local!` destructor that asks gets a "Dummy-N", as code running after
/// `_bootstrap_inner` does in CPython, and that dummy is gone when `join` returns.
#[test]
fn current_thread_in_a_late_tls_destructor_is_a_dummy_that_does_not_leak() {
    let _s = serial();
    static SEEN: Mutex<Option<Thread>> = Mutex::new(None);
    struct AskAtExit;
    impl Drop for AskAtExit {
        fn drop(&mut self) {
            *SEEN.lock().unwrap() = Some(threadkit::current_thread());
        }
    }
    thread_local! {
        static ASK: AskAtExit = const { AskAtExit };
    }
    let t = Thread::new(|| ASK.with(|_| ()));
    t.start().unwrap();
    t.join().unwrap();
    let seen = SEEN.lock().unwrap().take().expect("the destructor ran");
    assert_ne!(seen, t);
    assert!(seen.name().starts_with("Dummy-"), "{}", seen.name());
    assert!(!seen.is_alive(), "unregistered by the end of the OS thread");
    assert!(!threadkit::enumerate().contains(&seen));
    assert!(!threadkit::enumerate().contains(&t));
}

#[test]
fn main_thread_is_named_and_listed() {
    let _s = serial();
    let main = threadkit::main_thread();
    assert_eq!(main.name(), "MainThread");
    assert!(!main.daemon());
    assert!(main.is_alive());
    assert_eq!(main, threadkit::main_thread());
    assert!(threadkit::enumerate().contains(&main));
    let from_other = threadkit::spawn(threadkit::main_thread).join().unwrap();
    assert_eq!(from_other, main);
    // The harness runs tests on its own threads: this one is not the main thread.
    if std::thread::current().name() != Some("main") {
        assert_ne!(threadkit::current_thread(), main);
    }
}

#[test]
fn enumerate_and_active_count_follow_start_and_join() {
    let _s = serial();
    let base = threadkit::active_count();
    let gate = Arc::new(Gate::new());
    let ts: Vec<Thread> = (0..N)
        .map(|_| {
            let g = gate.clone();
            let t = Thread::new(move || g.wait());
            t.start().unwrap();
            t
        })
        .collect();
    let all = threadkit::enumerate();
    assert!(ts.iter().all(|t| all.contains(t)));
    assert!(threadkit::active_count() >= base + N);
    gate.open();
    for t in &ts {
        t.join().unwrap();
    }
    let all = threadkit::enumerate();
    assert!(
        ts.iter().all(|t| !all.contains(t)),
        "joined threads are not listed"
    );
    // Only other test threads' dummies can still come and go.
    assert!(eventually(|| threadkit::active_count() <= base));
    assert_eq!(threadkit::active_count(), threadkit::enumerate().len());
}

#[test]
fn stack_size_get_and_set() {
    let _s = serial();
    let old = threadkit::stack_size();
    assert_eq!(old, 0, "0 = platform default");
    assert!(matches!(
        threadkit::set_stack_size(1),
        Err(Error::InvalidStackSize(1))
    ));
    assert!(matches!(
        threadkit::set_stack_size(32 * 1024 - 1),
        Err(Error::InvalidStackSize(_))
    ));
    assert_eq!(threadkit::set_stack_size(32 * 1024).unwrap(), 0);
    assert_eq!(threadkit::stack_size(), 32 * 1024);
    assert_eq!(threadkit::set_stack_size(1 << 20).unwrap(), 32 * 1024);
    let h = threadkit::spawn(|| 5); // uses the module default
    assert_eq!(h.join().unwrap(), 5);
    assert_eq!(threadkit::set_stack_size(0).unwrap(), 1 << 20);
    assert_eq!(threadkit::stack_size(), 0);
}

#[test]
fn timeout_max_is_python_s() {
    assert_eq!(threadkit::TIMEOUT_MAX.as_secs(), 9_223_372_036);
}

#[test]
fn settrace_runs_in_each_new_thread_before_target() {
    let _s = serial();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let hook: threadkit::TraceHook = Arc::new(move |t: &Thread| {
        // Hooks may use the registry.
        assert_eq!(threadkit::current_thread(), *t);
        assert!(threadkit::enumerate().contains(t));
        l.lock().unwrap().push(format!("trace {}", t.name()));
    });
    threadkit::settrace(Some(hook.clone()));
    assert!(Arc::ptr_eq(&threadkit::gettrace().unwrap(), &hook));
    let l = log.clone();
    let t = Thread::new(move || l.lock().unwrap().push("target".into())).with_name("traced");
    t.start().unwrap();
    t.join().unwrap();
    threadkit::settrace(None);
    assert!(threadkit::gettrace().is_none());
    assert_eq!(
        *log.lock().unwrap(),
        vec!["trace traced".to_string(), "target".into()]
    );
}

#[test]
fn setprofile_sees_start_and_exit_with_cpu_time() {
    let _s = serial();
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    threadkit::setprofile(Some(Arc::new(move |t: &Thread, ev: ThreadEvent| {
        e.lock().unwrap().push((t.name(), ev));
    })));
    assert!(threadkit::getprofile().is_some());
    let t = Thread::new(|| {
        // Burn a little CPU so that the exit event has some.
        let end =
            std::time::Instant::now() + Duration::from_millis(if cfg!(miri) { 1 } else { 20 });
        let mut x = 0u64;
        while std::time::Instant::now() < end {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    })
    .with_name("profiled");
    t.start().unwrap();
    t.join().unwrap();
    threadkit::setprofile(None);
    let ev = events.lock().unwrap().clone();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0], ("profiled".to_string(), ThreadEvent::Start));
    match ev[1] {
        (ref n, ThreadEvent::Exit { wall, cpu }) => {
            assert_eq!(n, "profiled");
            assert!(wall >= Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
            // Miri has no CPU clock; Wine's GetThreadTimes reports 0 for threads.
            if !cfg!(miri) && !cfg!(windows) {
                assert!(cpu > Duration::ZERO, "cpu time from the OS");
            }
        }
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn hooks_may_reset_hooks_without_deadlock() {
    let _s = serial();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    threadkit::settrace(Some(Arc::new(move |_: &Thread| {
        c.fetch_add(1, SeqCst);
        threadkit::settrace(None); // replaces itself from inside
        let _ = threadkit::active_count();
    })));
    for _ in 0..2 {
        threadkit::spawn(|| ()).join().unwrap();
    }
    assert_eq!(calls.load(SeqCst), 1);
}

#[test]
fn main_thread_ids_are_known_from_any_thread() {
    // It starts a thread, which would run another test's trace or profile hook.
    let _s = serial();
    // libtest runs tests off the main thread; CPython knows the main thread's ids from the
    // start, whichever thread asks first (threadkit_sys records them before `main`).
    let main = threadkit::main_thread();
    let (ident, native) = (main.ident(), main.native_id());
    assert!(
        ident.is_some(),
        "main_thread().ident() unknown off the main thread"
    );
    assert!(
        native.is_some(),
        "main_thread().native_id() unknown off the main thread"
    );
    assert_ne!(ident, Some(threadkit::get_ident()));
    assert_ne!(native, Some(threadkit::get_native_id()));
    #[cfg(target_os = "linux")]
    assert_eq!(native, Some(u64::from(std::process::id())));
    // The same from a thread of threadkit's own.
    let h = threadkit::spawn(|| {
        let m = threadkit::main_thread();
        (m.ident(), m.native_id())
    });
    assert_eq!(h.join().unwrap(), (ident, native));
}

#[test]
fn an_empty_name_gives_the_automatic_one() {
    // CPython: `self._name = name or _newname()`.
    let t = threadkit::Thread::new(|| {}).with_name("");
    assert!(t.name().starts_with("Thread-"), "{:?}", t.name());
    let named = threadkit::Thread::new(|| {}).with_name("x");
    named.set_name(""); // the attribute form keeps "" as CPython's `t.name = ""` does
    assert_eq!(named.name(), "");
}
