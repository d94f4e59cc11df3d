//! `Builder`, `scope` and the exit rule of `spawn` (issue 12): std's shapes, with threads that
//! are ordinary threadkit threads (named, listed by `enumerate()`, traced, their `Local`
//! values dropped at exit), daemon unless `Builder::daemon(false)`. The process-level check
//! (a `spawn` loop does not keep the process alive) is in tests/thread_process.rs.

mod common;

use common::{EXPECTED, quiet_expected_panics, serial};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;
use threadkit::{Builder, Error, Event, Local, Thread};

#[test]
fn builder_names_sizes_and_flags() {
    let h = Builder::new()
        .name("worker")
        .stack_size(256 * 1024)
        .spawn(threadkit::current_thread)
        .unwrap();
    let t = h.thread().clone();
    assert_eq!(t.name(), "worker");
    assert!(
        t.daemon(),
        "Builder threads are daemon by default (std's exit rule)"
    );
    assert_eq!(
        h.join().unwrap(),
        t,
        "the thread sees itself as current_thread()"
    );

    let h = Builder::new().daemon(false).spawn(|| ()).unwrap();
    assert!(!h.thread().daemon());
    h.join().unwrap();

    let h = Builder::new().name("").spawn(|| ()).unwrap();
    assert!(
        h.thread().name().starts_with("Thread-"),
        "{}",
        h.thread().name()
    );
    h.join().unwrap();

    assert!(matches!(
        Builder::new().stack_size(1024).spawn(|| ()),
        Err(Error::InvalidStackSize(1024))
    ));
}

#[test]
fn spawn_is_daemon_and_thread_new_keeps_pythons_rule() {
    let h = threadkit::spawn(|| threadkit::current_thread().daemon());
    assert!(h.thread().daemon());
    assert!(h.join().unwrap());
    // Thread::new inherits the creating thread's flag: from a non-daemon thread, non-daemon.
    let h = Builder::new()
        .daemon(false)
        .spawn(|| Thread::new(|| ()).daemon())
        .unwrap();
    assert!(!h.join().unwrap());
}

#[test]
fn builder_threads_are_listed_traced_and_drop_their_locals() {
    let _s = serial(); // the trace hook is process-wide
    let traced = Arc::new(AtomicUsize::new(0));
    let tr = traced.clone();
    threadkit::settrace(Some(Arc::new(move |t: &Thread| {
        if t.name() == "listed" {
            tr.fetch_add(1, SeqCst);
        }
    })));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let local = Arc::new(Local::new(move || Counted(d.clone())));
    let gate = Arc::new(Event::new());
    let (l, g) = (local.clone(), gate.clone());
    let h = Builder::new()
        .name("listed")
        .spawn(move || {
            l.with(|_| ());
            g.wait();
        })
        .unwrap();
    assert!(threadkit::enumerate().contains(h.thread()));
    gate.set();
    h.join().unwrap();
    threadkit::settrace(None);
    assert_eq!(traced.load(SeqCst), 1);
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "the thread's Local value is dropped at its exit"
    );
}

#[test]
fn scope_borrows_and_joins_everything_before_returning() {
    let data = [1, 2, 3, 4];
    let mut total = 0;
    let count = AtomicUsize::new(0);
    threadkit::scope(|s| {
        for chunk in data.chunks(2) {
            s.spawn(|| {
                count.fetch_add(chunk.iter().sum::<usize>(), SeqCst);
                // A thread of the scope may start more threads in it.
                s.spawn(|| {
                    std::thread::sleep(Duration::from_millis(20));
                    count.fetch_add(100, SeqCst);
                });
            });
        }
        s.spawn(|| total = data.len());
    });
    assert_eq!(
        count.load(SeqCst),
        10 + 200,
        "every thread was joined, nested ones too"
    );
    assert_eq!(total, 4);
}

#[test]
fn scoped_threads_are_threadkit_threads() {
    let names = threadkit::scope(|s| {
        let a = s.spawn(threadkit::current_thread);
        let b = Builder::new()
            .name("scoped")
            .daemon(false)
            .spawn_scoped(s, || threadkit::current_thread().name())
            .unwrap();
        let t = a.thread().clone();
        assert!(t.daemon());
        assert_eq!(a.join().unwrap(), t);
        assert!(!t.is_alive());
        b.join().unwrap()
    });
    assert_eq!(names, "scoped");
    let r = threadkit::scope(|s| {
        Builder::new()
            .stack_size(1)
            .spawn_scoped(s, || ())
            .map(|_| ())
    });
    assert!(matches!(r, Err(Error::InvalidStackSize(1))));
}

#[test]
fn scope_panics_when_a_thread_panicked_unjoined() {
    let _s = serial(); // the excepthook is process-wide
    quiet_expected_panics();
    threadkit::set_excepthook(Some(Arc::new(|_: &threadkit::ExceptHookArgs<'_>| {})));
    // Joined: the panic is the handle's, the scope returns.
    let joined = threadkit::scope(|s| s.spawn(|| panic!("{EXPECTED}joined")).join().is_err());
    assert!(joined);
    // Not joined: the scope panics after joining every thread, as std's does.
    let done = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        threadkit::scope(|s| {
            s.spawn(|| panic!("{EXPECTED}unjoined"));
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                done.fetch_add(1, SeqCst);
            });
        })
    }));
    threadkit::set_excepthook(None);
    let err = r.unwrap_err();
    assert_eq!(
        err.downcast_ref::<&str>(),
        Some(&"a scoped thread panicked")
    );
    assert_eq!(done.load(SeqCst), 1);
}
