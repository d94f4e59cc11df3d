//! An EINTR storm: SIGUSR1, installed WITHOUT `SA_RESTART`, is sent again and again to a
//! thread blocked in `wait`. The wait must neither fail nor end before its deadline, and an
//! untimed wait must not be ended by signals at all.
//!
//! Its own test binary, because the signal handler is process-wide.
#![cfg(unix)]

use std::os::unix::thread::JoinHandleExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use threadkit_sys as sys;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

/// Installs `on_signal` for SIGUSR1 with no `SA_RESTART`, so blocking calls see `EINTR`.
fn install_handler() {
    // SAFETY: an all-zero sigaction is valid; the handler is async-signal-safe (one atomic
    // add); `sa_mask` is initialised by sigemptyset before use.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = 0; // deliberately no SA_RESTART
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &sa, core::ptr::null_mut()),
            0
        );
    }
}

/// Sends SIGUSR1 to `thread` every 200 µs until `stop` is set; returns how many were sent.
fn storm(thread: libc::pthread_t, stop: &AtomicBool) -> usize {
    let mut sent = 0;
    while !stop.load(Ordering::SeqCst) {
        // SAFETY: `thread` has not been joined yet (the caller joins after `stop`); it may
        // have just exited, in which case the call fails harmlessly.
        if unsafe { libc::pthread_kill(thread, libc::SIGUSR1) } == 0 {
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    sent
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not deliver signals")]
fn signals_do_not_shorten_waits() {
    install_handler();
    let before = SIGNALS.load(Ordering::SeqCst);

    // A timed wait on a word nobody changes: it must return `false`, and not early.
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    let timed = std::thread::spawn(move || {
        let word = AtomicU32::new(0);
        let d = Duration::from_millis(300);
        let start = Instant::now();
        let deadline = start + d;
        let woke = sys::wait(&word, 0, Some(deadline));
        let now = Instant::now();
        s.store(true, Ordering::SeqCst);
        (woke, now >= deadline, now - start)
    });
    let sent = storm(timed.as_pthread_t(), &stop);
    let (woke, on_time, took) = timed.join().expect("join");
    assert!(!woke, "a signal made the timed wait report a wake-up");
    assert!(on_time, "a signal ended the timed wait early ({took:?})");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(sent > 10, "the storm did not happen ({sent} signals)");
    assert!(
        SIGNALS.load(Ordering::SeqCst) > before,
        "no signal was delivered"
    );

    // An untimed wait: signals must not end it; only a real wake does.
    let word = Arc::new(AtomicU32::new(0));
    let returned = Arc::new(AtomicBool::new(false));
    let (w, r) = (Arc::clone(&word), Arc::clone(&returned));
    let untimed = std::thread::spawn(move || {
        while w.load(Ordering::SeqCst) == 0 {
            sys::wait(&w, 0, None);
            if w.load(Ordering::SeqCst) == 0 {
                r.store(true, Ordering::SeqCst); // returned without a wake
            }
        }
    });
    let stop = AtomicBool::new(false);
    let pt = untimed.as_pthread_t();
    std::thread::scope(|sc| {
        sc.spawn(|| storm(pt, &stop));
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
    });
    assert!(
        !returned.load(Ordering::SeqCst),
        "a signal ended an untimed wait"
    );
    word.store(1, Ordering::SeqCst);
    sys::wake_all(&*word);
    untimed.join().expect("join");
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not deliver signals")]
fn signals_do_not_shorten_sleep() {
    install_handler();
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    let t = std::thread::spawn(move || {
        let d = Duration::from_millis(200);
        let start = Instant::now();
        sys::sleep(d);
        let took = start.elapsed();
        s.store(true, Ordering::SeqCst);
        took
    });
    let sent = storm(t.as_pthread_t(), &stop);
    let took = t.join().expect("join");
    assert!(
        took >= Duration::from_millis(200),
        "sleep ended early: {took:?}"
    );
    assert!(sent > 10);
}
