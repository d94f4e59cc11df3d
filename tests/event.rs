//! `Event`: CPython's `EventTests` (Lib/test/lock_tests.py) and threadkit's own rules
//! (`set(); clear()` wakes every waiter with `true`, no early return, statics, size).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::Event;

const fn iters(n: usize) -> usize {
    if cfg!(miri) { 3 } else { n }
}

/// Long enough for threads that announced themselves to reach their blocking call.
fn settle() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 100 }));
}

/// A timeout that only a lost wake-up reaches.
const LONG: Duration = Duration::from_secs(30);

#[test]
fn is_set() {
    let e = Event::new();
    assert!(!e.is_set());
    e.set();
    assert!(e.is_set());
    e.set();
    assert!(e.is_set());
    e.clear();
    assert!(!e.is_set());
    e.clear();
    assert!(!e.is_set());
}

/// All 5 waiters get `true` from both waits.
fn check_notify(e: &Event) {
    const N: usize = 5;
    let entered = AtomicUsize::new(0);
    let results = AtomicUsize::new(0);
    thread::scope(|sc| {
        for _ in 0..N {
            sc.spawn(|| {
                entered.fetch_add(1, SeqCst);
                e.wait();
                results.fetch_add(1, SeqCst);
                assert!(e.wait_timeout(LONG));
                results.fetch_add(1, SeqCst);
            });
        }
        while entered.load(SeqCst) < N {
            thread::yield_now();
        }
        settle();
        assert_eq!(results.load(SeqCst), 0);
        e.set();
    });
    assert_eq!(results.load(SeqCst), 2 * N);
}

#[test]
fn notify() {
    let e = Event::new();
    check_notify(&e);
    // Another time, after an explicit clear().
    e.set();
    e.clear();
    check_notify(&e);
}

#[test]
fn timeout() {
    let e = Event::new();
    let t = Duration::from_millis(if cfg!(miri) { 10 } else { 100 });
    thread::scope(|sc| {
        for _ in 0..3 {
            sc.spawn(|| {
                assert!(!e.wait_timeout(Duration::ZERO));
                let start = Instant::now();
                assert!(!e.wait_timeout(t));
                assert!(start.elapsed() >= t, "returned early");
                let deadline = Instant::now() + t;
                assert!(!e.wait_until(deadline));
                assert!(Instant::now() >= deadline, "returned early");
            });
        }
    });
    assert!(!e.wait_until(Instant::now() - Duration::from_millis(1)));
    // The event is set.
    e.set();
    thread::scope(|sc| {
        for _ in 0..3 {
            sc.spawn(|| {
                assert!(e.wait_timeout(Duration::ZERO));
                assert!(e.wait_timeout(t));
                assert!(e.wait_until(Instant::now() - Duration::from_millis(1)));
            });
        }
    });
}

#[test]
fn huge_timeout_waits_without_one() {
    let e = Event::new();
    thread::scope(|sc| {
        sc.spawn(|| {
            settle();
            e.set();
        });
        assert!(e.wait_timeout(Duration::MAX));
    });
    assert!(e.wait_timeout(threadkit::TIMEOUT_MAX + Duration::from_secs(1)));
}

/// gh-57711: `wait()` returns true even when the event is cleared before the waiting thread
/// gets to run.
#[test]
fn set_and_clear() {
    const N: usize = 5;
    let e = Event::new();
    let entered = AtomicUsize::new(0);
    thread::scope(|sc| {
        let waiters: Vec<_> = (0..N)
            .map(|_| {
                sc.spawn(|| {
                    entered.fetch_add(1, SeqCst);
                    e.wait_timeout(LONG)
                })
            })
            .collect();
        while entered.load(SeqCst) < N {
            thread::yield_now();
        }
        settle();
        e.set();
        e.clear();
        for w in waiters {
            assert!(w.join().unwrap(), "a waiter missed set(); clear()");
        }
    });
    assert!(!e.is_set());
}

/// A waiter released by `set()` sees what the setter wrote, even after a `clear()` (Miri
/// checks the happens-before with its data-race detector).
#[test]
fn set_publishes_writes() {
    struct Shared(UnsafeCell<u64>);
    // SAFETY: the test only touches the cell under the event's happens-before (see below).
    unsafe impl Sync for Shared {}
    impl Shared {
        fn ptr(&self) -> *mut u64 {
            self.0.get()
        }
    }
    for _ in 0..iters(100) {
        let e = Event::new();
        let data = Shared(UnsafeCell::new(0));
        thread::scope(|sc| {
            sc.spawn(|| {
                // SAFETY: the reader touches `data` only after `wait` returned, which happens
                // after this write (set is Release, wait's return Acquire).
                unsafe { *data.ptr() = 42 };
                e.set();
                e.clear();
                // A reader that arrives after the clear() is released by this one.
                e.set();
            });
            assert!(e.wait_timeout(LONG));
            // SAFETY: see the writer: its write happens before `wait` returned true.
            assert_eq!(unsafe { *data.ptr() }, 42);
        });
    }
}

/// Two threads, two events, many round trips: no lost wake-up.
#[test]
fn ping_pong() {
    let rounds = iters(20_000);
    let (ping, pong) = (Event::new(), Event::new());
    thread::scope(|sc| {
        sc.spawn(|| {
            for _ in 0..rounds {
                assert!(ping.wait_timeout(LONG));
                ping.clear();
                pong.set();
            }
        });
        for _ in 0..rounds {
            ping.set();
            assert!(pong.wait_timeout(LONG));
            pong.clear();
        }
    });
}

/// A token passed around a ring of 4 threads (more threads than cores on a 2-core machine).
#[test]
fn token_ring() {
    const THREADS: usize = 4;
    let laps = iters(2_000);
    let events: Vec<Event> = (0..THREADS).map(|_| Event::new()).collect();
    let hops = AtomicUsize::new(0);
    thread::scope(|sc| {
        for i in 0..THREADS {
            let (events, hops) = (&events, &hops);
            sc.spawn(move || {
                let (me, next) = (&events[i], &events[(i + 1) % THREADS]);
                for _ in 0..laps {
                    assert!(me.wait_timeout(LONG));
                    me.clear();
                    hops.fetch_add(1, SeqCst);
                    next.set();
                }
            });
        }
        events[0].set();
    });
    assert_eq!(hops.load(SeqCst), THREADS * laps);
}

/// Timed waiters that give up leave the event usable: later waiters are still woken.
#[test]
fn timed_out_waiters_do_not_break_it() {
    let e = Event::new();
    for _ in 0..iters(20) {
        thread::scope(|sc| {
            for _ in 0..3 {
                sc.spawn(|| e.wait_timeout(Duration::from_micros(100)));
            }
            let w = sc.spawn(|| e.wait_timeout(LONG));
            thread::sleep(Duration::from_micros(300));
            e.set();
            assert!(w.join().unwrap());
        });
        e.clear();
    }
}

#[test]
fn from_a_static() {
    static READY: Event = Event::new();
    thread::scope(|sc| {
        sc.spawn(|| READY.set());
        READY.wait();
    });
    assert!(READY.is_set());
}

#[test]
fn default_and_debug() {
    let e = Event::default();
    assert_eq!(format!("{e:?}"), "Event { is_set: false }");
    e.set();
    assert_eq!(format!("{e:?}"), "Event { is_set: true }");
}

#[test]
fn size() {
    assert_eq!(size_of::<Event>(), 4);
}
