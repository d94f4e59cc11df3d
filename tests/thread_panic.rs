//! Panics in threads: `spawn`'s result and panic, a panic caught and handed to the excepthook
//! (CPython's `threading.excepthook`), and a panic storm.

mod common;

use common::{EXPECTED, quiet_expected_panics, serial};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use threadkit::Thread;

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
    threadkit::set_excepthook(None);
    // A panicking excepthook is contained too: tests/thread_process.rs checks it in a process
    // of its own (it prints "Exception in threadkit excepthook:" on stderr, as Python does).
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
