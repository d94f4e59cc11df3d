//! Barrier: CPython's `lock_tests.BarrierTests` ported, plus stress and size checks.
//! Threads come from `std::thread::scope` (tests may use std as the harness).

use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Barrier, Error};

const N: usize = 5;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

fn barrier() -> Barrier {
    Barrier::new(N).default_timeout(DEFAULT_TIMEOUT)
}

/// Runs `f` on `n` threads at once (CPython's `Bunch`).
fn run_threads(n: usize, f: impl Fn() + Sync) {
    thread::scope(|s| {
        for _ in 0..n {
            s.spawn(&f);
        }
    });
}

fn is_broken<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::BrokenBarrier))
}

#[test]
#[should_panic(expected = "parties must be > 0")]
fn constructor_rejects_zero() {
    let _ = Barrier::new(0);
}

#[test]
fn size_is_24_bytes_or_less() {
    assert!(std::mem::size_of::<Barrier>() <= 3 * std::mem::size_of::<usize>());
}

fn lockstep(passes: usize) {
    lockstep_on(&barrier(), N, passes);
}

/// `n` threads (the barrier's parties) pass `b` twice per pass, each time checking that every
/// party did its part of the pass before the barrier let anyone on.
fn lockstep_on(b: &Barrier, n: usize, passes: usize) {
    let r0 = AtomicUsize::new(0);
    let r1 = AtomicUsize::new(0);
    run_threads(n, || {
        for i in 0..passes {
            r0.fetch_add(1, SeqCst);
            assert_eq!(r1.load(SeqCst), i * n);
            b.wait().unwrap();
            r1.fetch_add(1, SeqCst);
            assert_eq!(r0.load(SeqCst), (i + 1) * n);
            b.wait().unwrap();
        }
        assert_eq!(b.n_waiting(), 0);
        assert!(!b.broken());
    });
}

#[test]
fn barrier_lockstep() {
    lockstep(1);
}

#[test]
fn barrier_lockstep_10() {
    lockstep(10);
}

/// More parties than CPUs and no timeout: a waiter whose partners cannot all run beside it
/// yields its CPU to them before it sleeps (`rt::yield_wait`); the rounds stay in lockstep.
#[test]
fn more_parties_than_cpus_untimed_stay_in_lockstep() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let parties = cpus + 2;
    let passes = if cfg!(miri) { 3 } else { 2000 };
    lockstep_on(&Barrier::new(parties), parties, passes);
}

#[test]
fn wait_return_indexes_unique() {
    let b = barrier();
    let results = StdMutex::new(Vec::new());
    let rounds = if cfg!(miri) { 2 } else { 20 };
    run_threads(N, || {
        for _ in 0..rounds {
            let i = b.wait().unwrap();
            results.lock().unwrap().push(i);
        }
    });
    let mut r = results.into_inner().unwrap();
    r.sort();
    let mut want: Vec<usize> = (0..N)
        .flat_map(|i| std::iter::repeat_n(i, rounds))
        .collect();
    want.sort();
    assert_eq!(r, want);
}

#[test]
fn action_runs_once_per_round_before_release() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let b = Barrier::with_action(N, move || {
        c.fetch_add(1, SeqCst);
    });
    run_threads(N, || {
        let i = b.wait().unwrap();
        assert_eq!(count.load(SeqCst), 1);
        let _ = i;
        b.wait().unwrap();
        assert_eq!(count.load(SeqCst), 2);
    });
}

#[test]
fn last_arrival_runs_action_and_gets_last_index() {
    let runner = Arc::new(AtomicUsize::new(usize::MAX));
    let r = Arc::clone(&runner);
    let b = Barrier::with_action(3, move || {
        r.store(threadkit_id(), SeqCst);
    });
    run_threads(3, || {
        let i = b.wait().unwrap();
        if i == 2 {
            assert_eq!(runner.load(SeqCst), threadkit_id());
        }
    });
}

fn threadkit_id() -> usize {
    thread_local!(static ANCHOR: u8 = const { 0 });
    ANCHOR.with(|a| a as *const u8 as usize)
}

#[test]
fn abort_breaks() {
    let b = barrier();
    let (ok, broken) = (AtomicUsize::new(0), AtomicUsize::new(0));
    run_threads(N, || match b.wait() {
        Ok(i) if i == N / 2 => b.abort(),
        Ok(_) => match b.wait() {
            Ok(_) => {
                ok.fetch_add(1, SeqCst);
            }
            Err(_) => {
                broken.fetch_add(1, SeqCst);
            }
        },
        Err(e) => panic!("{e}"),
    });
    assert_eq!(ok.load(SeqCst), 0);
    assert_eq!(broken.load(SeqCst), N - 1);
    assert!(b.broken());
}

#[test]
fn reset_frees_waiters() {
    let b = barrier();
    let (r1, r2, r3) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    run_threads(N, || {
        let i = b.wait().unwrap();
        if i == N / 2 {
            let start = Instant::now();
            while b.n_waiting() < N - 1 {
                assert!(start.elapsed() < Duration::from_secs(30));
                thread::yield_now();
            }
            b.reset();
        } else {
            match b.wait() {
                Ok(_) => r1.fetch_add(1, SeqCst),
                Err(_) => r2.fetch_add(1, SeqCst),
            };
        }
        b.wait().unwrap();
        r3.fetch_add(1, SeqCst);
    });
    assert_eq!(r1.load(SeqCst), 0);
    assert_eq!(r2.load(SeqCst), N - 1);
    assert_eq!(r3.load(SeqCst), N);
}

#[test]
fn abort_and_reset() {
    let b = barrier();
    let b2 = Barrier::new(N);
    let (r1, r2, r3) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    run_threads(N, || {
        match b.wait() {
            Ok(i) if i == N / 2 => b.abort(),
            Ok(_) => {
                match b.wait() {
                    Ok(_) => r1.fetch_add(1, SeqCst),
                    Err(_) => r2.fetch_add(1, SeqCst),
                };
            }
            Err(e) => panic!("{e}"),
        }
        if b2.wait().unwrap() == N / 2 {
            b.reset();
        }
        b2.wait().unwrap();
        b.wait().unwrap();
        r3.fetch_add(1, SeqCst);
    });
    assert_eq!(r1.load(SeqCst), 0);
    assert_eq!(r2.load(SeqCst), N - 1);
    assert_eq!(r3.load(SeqCst), N);
}

#[test]
fn timeout_breaks() {
    let b = barrier();
    run_threads(N, || {
        let i = b.wait().unwrap();
        if i == N / 2 {
            thread::sleep(DEFAULT_TIMEOUT / 8); // one thread is late
        }
        assert!(is_broken(b.wait_timeout(DEFAULT_TIMEOUT / 32)));
    });
    assert!(b.broken());
}

#[test]
fn default_timeout_breaks_not_early() {
    let timeout = Duration::from_millis(100);
    let b = Barrier::new(2).default_timeout(timeout);
    let start = Instant::now();
    assert!(is_broken(b.wait()));
    assert!(start.elapsed() >= timeout);
    assert!(b.broken());
    assert!(is_broken(b.wait()), "a broken barrier fails at once");
    b.reset();
    assert!(!b.broken());
}

#[test]
fn zero_timeout_breaks_at_once() {
    let b = Barrier::new(2);
    assert!(is_broken(b.wait_timeout(Duration::ZERO)));
    assert!(b.broken());
}

#[test]
fn single_thread() {
    let b = Barrier::new(1);
    assert_eq!(b.wait().unwrap(), 0);
    assert_eq!(b.wait().unwrap(), 0);
}

#[test]
fn n_waiting_and_debug() {
    let b = Barrier::new(3);
    assert!(format!("{b:?}").contains("parties: 3"));
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| b.wait_timeout(Duration::from_secs(60)).unwrap());
        }
        let start = Instant::now();
        while b.n_waiting() < 2 {
            assert!(start.elapsed() < Duration::from_secs(30));
            thread::yield_now();
        }
        assert_eq!(b.n_waiting(), 2);
        assert_eq!(b.wait().unwrap(), 2);
    });
    assert_eq!(b.n_waiting(), 0);
    b.abort();
    assert!(format!("{b:?}").contains("broken"));
}

#[test]
fn panicking_action_breaks_and_propagates() {
    let b = Barrier::with_action(2, || panic!("action failed"));
    thread::scope(|s| {
        let other = s.spawn(|| b.wait());
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.wait()));
        let theirs = other.join();
        // Exactly one of the two ran the action and panicked; the other got BrokenBarrier.
        let (panicked, broken) = match (mine, theirs) {
            (Err(_), Ok(r)) | (Ok(r), Err(_)) => (1, is_broken(r)),
            _ => (0, false),
        };
        assert_eq!(panicked, 1);
        assert!(broken);
    });
    assert!(b.broken());
    b.reset();
    assert!(!b.broken());
}

#[test]
fn more_threads_than_parties_share_rounds_exactly() {
    // More threads than parties: a released thread may arrive again before its round-mates
    // have left `wait`, and later arrivals join the next round; every round still hands out
    // 0..parties exactly once. Arrivals are claimed from a shared
    // budget (an even total), so every arrival finds a partner.
    let parties = 2;
    let total = if cfg!(miri) { 8 } else { 2000 };
    let b = Barrier::new(parties);
    let budget = AtomicUsize::new(total);
    let seen = StdMutex::new(vec![0usize; parties]);
    run_threads(4, || {
        // Claim one arrival; a failed claim may drive the counter below 0 (wrapping), which
        // only ever makes later claims fail too.
        while budget.fetch_sub(1, SeqCst).wrapping_sub(1) < total {
            let i = b.wait().unwrap();
            seen.lock().unwrap()[i] += 1;
        }
    });
    assert_eq!(*seen.lock().unwrap(), vec![total / 2; parties]);
}

/// Polls `f` (yielding) until it holds; panics after 30 s.
fn until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(30), "never: {what}");
        thread::yield_now();
    }
}

/// The timeout starts once the thread has entered the round (CPython: `_enter` waits without
/// a timeout, `_wait` starts the clock). Round 1 is held by an action that runs longer than
/// the timeout; C calls the timed wait while it runs, so C's wait spends more than its
/// timeout waiting to enter round 2; D arrives soon after C entered. Both must get their
/// index: with the clock started at the call, C's timeout has passed when it enters, and it
/// breaks round 2 before D comes.
fn timeout_starts_inside_the_round(default: bool) {
    const TIMEOUT: Duration = Duration::from_secs(1);
    let action_running = Arc::new(AtomicUsize::new(0));
    let c_calling = Arc::new(AtomicUsize::new(0));
    let (running, calling) = (Arc::clone(&action_running), Arc::clone(&c_calling));
    let b = Barrier::with_action(2, move || {
        if running.fetch_add(1, SeqCst) == 0 {
            // Round 1: run until C has called its timed wait, and then longer than its timeout.
            until("C calls wait", || calling.load(SeqCst) == 1);
            thread::sleep(TIMEOUT + TIMEOUT / 2);
        }
    });
    let b = if default {
        b.default_timeout(TIMEOUT)
    } else {
        b
    };
    let timed = |b: &Barrier| {
        if default {
            b.wait()
        } else {
            b.wait_timeout(TIMEOUT)
        }
    };
    let round1_done = AtomicUsize::new(0);
    let (c, d) = thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                b.wait_timeout(Duration::from_secs(60)).unwrap();
                round1_done.fetch_add(1, SeqCst);
            });
        }
        let c = s.spawn(|| {
            until("the action runs", || action_running.load(SeqCst) == 1);
            c_calling.store(1, SeqCst);
            timed(&b)
        });
        let d = s.spawn(|| {
            until("round 1 is over", || round1_done.load(SeqCst) == 2);
            until("C enters round 2", || b.n_waiting() == 1 || b.broken());
            // Give a C whose timeout ran out before it entered the time to break the round.
            thread::sleep(TIMEOUT / 10);
            timed(&b)
        });
        (c.join().unwrap(), d.join().unwrap())
    });
    let mut indexes = [c.expect("C"), d.expect("D")];
    indexes.sort();
    assert_eq!(indexes, [0, 1]);
    assert!(!b.broken());
}

#[test]
fn wait_timeout_starts_inside_the_round() {
    timeout_starts_inside_the_round(false);
}

#[test]
fn default_timeout_starts_inside_the_round() {
    timeout_starts_inside_the_round(true);
}

/// CPython's `n_waiting` is `parties` while the action runs (the round is full and not yet
/// released: `_state` is still 0 and `_count` is `parties`), 0 once it is released.
#[test]
fn n_waiting_is_parties_while_the_action_runs() {
    let running = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (r, d) = (Arc::clone(&running), Arc::clone(&done));
    let b = Barrier::with_action(3, move || {
        r.store(1, SeqCst);
        until("the test looked", || d.load(SeqCst) == 1);
    });
    let seen = thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| b.wait().unwrap());
        }
        until("the action runs", || running.load(SeqCst) == 1);
        let seen = (b.n_waiting(), b.broken());
        done.store(1, SeqCst); // before any assertion, so a failure cannot hang the scope
        seen
    });
    assert_eq!(seen, (3, false));
    assert_eq!(b.n_waiting(), 0);
}

/// `MAX_PARTIES` is accepted (the count field holds it: arrivals stop at `parties`), one more
/// panics as documented.
#[test]
fn parties_up_to_max_and_one_more_panics() {
    let b = Barrier::new(Barrier::MAX_PARTIES);
    assert_eq!(b.parties(), Barrier::MAX_PARTIES);
    assert_eq!((b.n_waiting(), b.broken()), (0, false));
    assert!(b.wait_timeout(Duration::ZERO).is_err());
    assert!(b.broken());
    b.reset();
    assert_eq!((b.n_waiting(), b.broken()), (0, false));
    let r = std::panic::catch_unwind(|| Barrier::new(Barrier::MAX_PARTIES + 1));
    assert!(r.is_err());
}

/// Six threads on a barrier of three, with timeouts, a thread that aborts and resets at
/// random, and the workers resetting what they find broken: whatever breaks, every round that
/// was released hands out each index exactly once and ran the action once (a released round
/// is never turned into an error, a failed one never into a success), nobody is counted
/// twice, and afterwards a reset leaves a barrier that works.
#[test]
fn rounds_stay_whole_under_aborts_resets_and_timeouts() {
    const PARTIES: usize = 3;
    let rounds = if cfg!(miri) { 20 } else { 3000 };
    let released = Arc::new(AtomicUsize::new(0));
    let r = released.clone();
    let b = Barrier::with_action(PARTIES, move || {
        r.fetch_add(1, SeqCst);
    });
    let wins: [AtomicUsize; PARTIES] = Default::default();
    let working = AtomicUsize::new(2 * PARTIES);
    thread::scope(|s| {
        for t in 0..2 * PARTIES {
            let (b, wins, working) = (&b, &wins, &working);
            s.spawn(move || {
                // Counts this worker out even if it panics, so the chaos thread stops.
                struct Out<'a>(&'a AtomicUsize);
                impl Drop for Out<'_> {
                    fn drop(&mut self) {
                        self.0.fetch_sub(1, SeqCst);
                    }
                }
                let _out = Out(working);
                for k in 0..rounds {
                    let timeout = Duration::from_millis(if (k + t) % 7 == 0 { 0 } else { 50 });
                    match b.wait_timeout(timeout) {
                        Ok(i) => {
                            wins[i].fetch_add(1, SeqCst);
                        }
                        Err(e) => {
                            assert!(matches!(e, Error::BrokenBarrier), "{e:?}");
                            if k % 3 == 0 {
                                b.reset();
                            }
                        }
                    }
                }
            });
        }
        let (b, working) = (&b, &working);
        s.spawn(move || {
            let mut k = 0u32;
            while working.load(SeqCst) > 0 {
                k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                match k >> 28 {
                    0 => b.abort(),
                    1..=3 => b.reset(),
                    _ => thread::yield_now(),
                }
                thread::sleep(Duration::from_micros(if cfg!(miri) { 1 } else { 200 }));
            }
        });
    });
    let wins: Vec<usize> = wins.iter().map(|w| w.load(SeqCst)).collect();
    let released = released.load(SeqCst);
    assert!(
        wins.iter().all(|&w| w == released),
        "each released round gives every index once: {wins:?}, {released} rounds released"
    );
    b.reset();
    assert_eq!((b.n_waiting(), b.broken()), (0, false));
    let mut idx = Vec::new();
    thread::scope(|s| {
        let hs: Vec<_> = (0..PARTIES)
            .map(|_| s.spawn(|| b.wait_timeout(Duration::from_secs(30)).unwrap()))
            .collect();
        idx = hs.into_iter().map(|h| h.join().unwrap()).collect();
    });
    idx.sort();
    assert_eq!(idx, [0, 1, 2]);
    eprintln!("{released} rounds released, wins {wins:?}");
}
