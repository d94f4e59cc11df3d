//! `Timer`: CPython's Timer tests (runs after the interval, cancel before start, during the
//! wait and after it ran) plus many timers at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};
use threadkit::Timer;

fn counter() -> (Arc<AtomicUsize>, impl FnOnce() + Send + 'static) {
    let c = Arc::new(AtomicUsize::new(0));
    let c2 = c.clone();
    (c, move || {
        c2.fetch_add(1, SeqCst);
    })
}

#[test]
fn runs_after_the_interval() {
    let (c, f) = counter();
    let t = Timer::new(Duration::from_millis(50), f);
    let begin = Instant::now();
    t.start().unwrap();
    t.thread().join().unwrap();
    assert!(begin.elapsed() >= Duration::from_millis(50), "fired early");
    assert_eq!(c.load(SeqCst), 1);
    assert!(matches!(t.start(), Err(threadkit::Error::AlreadyStarted)));
}

#[test]
fn cancel_before_start() {
    let (c, f) = counter();
    let t = Timer::new(Duration::ZERO, f);
    t.cancel();
    t.start().unwrap();
    t.thread().join().unwrap();
    assert_eq!(c.load(SeqCst), 0);
}

#[test]
fn cancel_during_the_wait_wakes_the_thread() {
    let (c, f) = counter();
    let t = Timer::new(Duration::from_secs(3600), f);
    t.start().unwrap();
    assert!(t.thread().is_alive());
    t.cancel();
    // Promptly: far less than the hour (10 s is a generous bound).
    assert!(t.thread().join_timeout(Duration::from_secs(10)).unwrap());
    assert_eq!(c.load(SeqCst), 0);
    t.cancel(); // twice: harmless
}

#[test]
fn cancel_after_it_ran_is_harmless() {
    let (c, f) = counter();
    let t = Timer::new(Duration::ZERO, f);
    t.start().unwrap();
    t.thread().join().unwrap();
    t.cancel();
    assert_eq!(c.load(SeqCst), 1);
}

#[test]
fn timeout_beyond_timeout_max_is_no_timeout() {
    let (c, f) = counter();
    let t = Timer::new(threadkit::TIMEOUT_MAX * 3, f);
    t.start().unwrap();
    assert!(!t.thread().join_timeout(Duration::from_millis(20)).unwrap());
    t.cancel();
    t.thread().join().unwrap();
    assert_eq!(c.load(SeqCst), 0);
}

#[test]
fn thread_handle_is_usable() {
    let t = Timer::new(Duration::ZERO, || {});
    t.thread().set_name("tick");
    t.thread().set_daemon(true).unwrap();
    assert_eq!(t.thread().name(), "tick");
    t.start().unwrap();
    t.thread().join().unwrap();
    assert!(format!("{t:?}").contains("tick"));
}

#[test]
fn many_timers_at_once() {
    let n = if cfg!(miri) { 4 } else { 100 };
    let c = Arc::new(AtomicUsize::new(0));
    let timers: Vec<Timer> = (0..n)
        .map(|i| {
            let c = c.clone();
            let t = Timer::new(Duration::from_millis((i % 10) as u64), move || {
                c.fetch_add(1, SeqCst);
            });
            t.start().unwrap();
            t
        })
        .collect();
    // Cancel every other one; each cancel either wins or comes after the function ran.
    for t in timers.iter().step_by(2) {
        t.cancel();
    }
    for t in &timers {
        t.thread().join().unwrap();
    }
    let ran = c.load(SeqCst);
    assert!(ran >= n / 2 && ran <= n, "{ran}");
}

#[test]
fn join_returns_after_the_timer_thread_local_destructors() {
    // A Timer's thread is joined like any Thread: the OS thread has ended when join returns.
    let (flag, target) = common::leaves_tls_behind();
    let t = Timer::new(Duration::ZERO, target);
    t.start().unwrap();
    t.thread().join().unwrap();
    assert!(
        flag.load(SeqCst),
        "join returned before the timer thread's TLS was destroyed"
    );
}
