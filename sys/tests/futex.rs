//! The wait/wake contract: wake before wait, stale values, timeouts, wake_one vs wake_n vs
//! wake_all, requeue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use threadkit_sys as sys;

/// Sleepers per test (Miri is slow; real OS threads are cheap).
const N: usize = if cfg!(miri) { 3 } else { 8 };
/// How long to let threads reach their wait before acting (see `settle`).
const SETTLE: Duration = Duration::from_millis(if cfg!(miri) { 20 } else { 100 });
/// Upper bound for anything that must happen "soon": only a failure takes this long.
const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `cond` until it holds or `PATIENCE` runs out; returns whether it held.
fn eventually(cond: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > PATIENCE {
            return false;
        }
        sys::sleep(Duration::from_millis(1));
    }
    true
}

/// Gives sleepers that announced themselves time to really block in the kernel. (A thread
/// that is late only makes a wake hit fewer candidates; the tests below stay correct.)
fn settle() {
    sys::sleep(SETTLE);
}

/// Linux: waits until thread `tid` of this process is blocked (state `S` in
/// `/proc/self/task/<tid>/stat`), so a test never acts before the sleeper is in the kernel.
#[cfg(all(target_os = "linux", not(miri)))]
fn until_blocked(tid: u64) {
    let path = format!("/proc/self/task/{tid}/stat");
    let blocked = || {
        std::fs::read_to_string(&path).is_ok_and(|stat| {
            // The state follows the parenthesised command name.
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('S'))
        })
    };
    assert!(eventually(blocked), "thread {tid} never blocked");
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn until_blocked(_tid: u64) {}

struct Sleepers {
    word: Arc<AtomicU32>,
    arrived: Arc<AtomicUsize>,
    left: Arc<AtomicUsize>,
    threads: Vec<sys::RawThread>,
}

/// Starts `n` threads that each announce themselves, call `wait(word, 0, None)` ONCE, and
/// count themselves out: each wake (or spurious return) lets exactly one of them leave.
fn sleepers(n: usize) -> Sleepers {
    let word = Arc::new(AtomicU32::new(0));
    let arrived = Arc::new(AtomicUsize::new(0));
    let left = Arc::new(AtomicUsize::new(0));
    let tids: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let threads = (0..n)
        .map(|i| {
            let (w, a, l) = (Arc::clone(&word), Arc::clone(&arrived), Arc::clone(&left));
            let tids = Arc::clone(&tids);
            sys::spawn(
                0,
                Box::new(move || {
                    tids[i].store(sys::native_id(), Ordering::SeqCst);
                    a.fetch_add(1, Ordering::SeqCst);
                    sys::wait(&w, 0, None);
                    l.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .expect("spawn")
        })
        .collect();
    let s = Sleepers {
        word,
        arrived,
        left,
        threads,
    };
    assert!(eventually(|| s.arrived.load(Ordering::SeqCst) == n));
    for tid in tids.iter() {
        until_blocked(tid.load(Ordering::SeqCst));
    }
    settle();
    s
}

impl Sleepers {
    fn left(&self) -> usize {
        self.left.load(Ordering::SeqCst)
    }

    /// Releases everybody for good and joins them.
    fn finish(self) {
        self.word.store(1, Ordering::SeqCst);
        sys::wake_all(&*self.word);
        for t in self.threads {
            t.join().expect("join");
        }
        assert_eq!(
            self.left.load(Ordering::SeqCst),
            self.arrived.load(Ordering::SeqCst)
        );
    }
}

#[test]
fn wake_with_no_waiter_is_harmless() {
    let word = AtomicU32::new(0);
    sys::wake_one(&word);
    sys::wake_n(&word, 2);
    sys::wake_all(&word);
    // A dangling address is only a key.
    let gone = Box::into_raw(Box::new(AtomicU32::new(0)));
    // SAFETY: `gone` came from Box::into_raw and is freed once.
    drop(unsafe { Box::from_raw(gone) });
    sys::wake_one(gone);
    sys::wake_n(gone, 3);
    sys::wake_all(gone);
}

#[test]
fn wake_before_wait_is_not_lost() {
    // The waker changes the value before waking, so a waiter that arrives late sees it.
    let word = Arc::new(AtomicU32::new(0));
    let w = Arc::clone(&word);
    sys::spawn(
        0,
        Box::new(move || {
            w.store(1, Ordering::SeqCst);
            sys::wake_one(&*w);
        }),
    )
    .expect("spawn")
    .join()
    .expect("join");
    let start = Instant::now();
    while word.load(Ordering::SeqCst) == 0 {
        sys::wait(&word, 0, None);
    }
    assert!(start.elapsed() < PATIENCE);
}

#[test]
fn stale_value_returns_at_once() {
    let word = AtomicU32::new(7);
    let start = Instant::now();
    assert!(sys::wait(&word, 6, None));
    assert!(sys::wait(
        &word,
        6,
        Some(Instant::now() + Duration::from_secs(3600))
    ));
    // A deadline too far to represent on some OSes still compares first.
    assert!(sys::wait(
        &word,
        6,
        Some(Instant::now() + Duration::from_secs(1 << 30))
    ));
    assert!(start.elapsed() < PATIENCE);
}

#[test]
fn past_deadline_returns_false_at_once() {
    let word = AtomicU32::new(0);
    assert!(!sys::wait(&word, 0, Some(Instant::now())));
    let past = Instant::now();
    sys::sleep(Duration::from_millis(1));
    assert!(!sys::wait(&word, 0, Some(past)));
}

#[test]
fn timeouts_never_end_early() {
    let word = AtomicU32::new(0);
    for ms in [1u64, 5, 20, 60] {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        let deadline = start + d;
        // `true` may be spurious; `false` must mean the deadline has passed.
        while sys::wait(&word, 0, Some(deadline)) {}
        let now = Instant::now();
        assert!(now >= deadline, "returned {:?} early", deadline - now);
        assert!(
            now - start < d + PATIENCE,
            "took {:?} for {d:?}",
            now - start
        );
    }
}

#[test]
fn timed_wait_is_woken_before_its_deadline() {
    let word = Arc::new(AtomicU32::new(0));
    let w = Arc::clone(&word);
    let t = sys::spawn(
        0,
        Box::new(move || {
            sys::sleep(Duration::from_millis(10));
            w.store(1, Ordering::SeqCst);
            sys::wake_all(&*w);
        }),
    )
    .expect("spawn");
    let deadline = Instant::now() + PATIENCE * 3;
    while word.load(Ordering::SeqCst) == 0 {
        assert!(sys::wait(&word, 0, Some(deadline)), "the wake was missed");
    }
    t.join().expect("join");
}

#[test]
fn wake_one_wakes_exactly_one() {
    let s = sleepers(N);
    assert_eq!(s.left(), 0, "nobody leaves without a wake");
    sys::wake_one(&*s.word);
    assert!(eventually(|| s.left() >= 1), "wake_one woke nobody");
    if !sys::wakes_exactly() {
        // Under Wine: every sleeper (see `wake_one_after_wake_all`).
        assert!(eventually(|| s.left() == N), "wake_one missed a sleeper");
        return s.finish();
    }
    settle();
    assert_eq!(s.left(), 1, "wake_one woke more than one sleeper");
    sys::wake_one(&*s.word);
    assert!(
        eventually(|| s.left() >= 2),
        "the second wake_one woke nobody"
    );
    settle();
    assert_eq!(s.left(), 2);
    s.finish();
}

#[test]
fn wake_n_wakes_exactly_n() {
    // n sleepers of N leave, and no more: N - 1 (the most that still leaves one behind), and a
    // second round with the rest. `N - 1 <= WAKE_N_LOOP_MAX`, so every backend is exact here.
    let n = N - 1;
    assert!((2..=sys::WAKE_N_LOOP_MAX).contains(&n));
    let s = sleepers(N);
    assert_eq!(s.left(), 0, "nobody leaves without a wake");
    sys::wake_n(&*s.word, 0);
    settle();
    assert_eq!(s.left(), 0, "wake_n(0) woke a sleeper");
    // The value is unchanged: only the wake itself can release them.
    sys::wake_n(&*s.word, n);
    assert!(
        eventually(|| s.left() >= n),
        "wake_n({n}) woke only {}",
        s.left()
    );
    if !sys::wakes_exactly() {
        assert!(eventually(|| s.left() == N), "wake_n({n}) missed a sleeper");
        return s.finish();
    }
    settle();
    assert_eq!(s.left(), n, "wake_n({n}) woke more than {n} sleepers");
    // More than are left: wakes the last one.
    sys::wake_n(&*s.word, N);
    assert!(
        eventually(|| s.left() == N),
        "the last sleeper was not woken"
    );
    s.finish();
}

#[test]
fn wake_n_above_the_loop_limit_wakes_them_all() {
    let s = sleepers(N);
    sys::wake_n(&*s.word, usize::MAX);
    let all = eventually(|| s.left() == N);
    let left = s.left();
    s.finish();
    assert!(all, "wake_n(usize::MAX) released only {left} of {N}");
}

#[test]
fn wake_all_wakes_all() {
    let s = sleepers(N);
    assert_eq!(s.left(), 0);
    // The value is unchanged: only the wake itself can release them.
    sys::wake_all(&*s.word);
    let all = eventually(|| s.left() == N);
    let left = s.left();
    s.finish();
    assert!(all, "wake_all released only {left} of {N}");
}

#[test]
fn requeue_moves_or_wakes_one() {
    let a = sleepers(1);
    let b = Arc::new(AtomicU32::new(0));
    // SAFETY: `a.word` is alive for the whole call.
    unsafe { sys::requeue_one(&*a.word, 0, &*b) };
    if sys::REQUEUE_MOVES {
        // Now sleeping on `b`: waking `a` must not release it.
        sys::wake_one(&*a.word);
        settle();
        assert_eq!(
            a.left(),
            0,
            "the requeued sleeper was woken through its old word"
        );
        sys::wake_one(&*b);
    }
    assert!(
        eventually(|| a.left() == 1),
        "the sleeper was lost by the requeue"
    );
    a.finish();
}

#[test]
fn requeue_with_changed_value_wakes() {
    let a = sleepers(1);
    let b = AtomicU32::new(0);
    // The word no longer holds `expected` (5): the sleeper must be woken to re-check.
    // SAFETY: `a.word` is alive for the whole call.
    unsafe { sys::requeue_one(&*a.word, 5, &b) };
    assert!(eventually(|| a.left() == 1));
    a.finish();
}

/// A `wake_one` after a `wake_all` reaches a thread that went to sleep in between, even while
/// a thread the `wake_all` woke has not run yet. Wine 8's `WakeByAddressAll` leaves the
/// threads it woke queued on the address until they run, and a `WakeByAddressSingle` then
/// picked one of them: the later sleeper was never woken (a `Lock` hung under Wine in CI
/// that way). Here the thread woken first is suspended, so it cannot run and leave the queue.
#[cfg(all(windows, not(miri)))]
#[test]
fn wake_one_after_wake_all() {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::System::Threading::{ResumeThread, SuspendThread};
    static WORD: AtomicU32 = AtomicU32::new(0);
    let first = std::thread::spawn(|| {
        while WORD.load(Ordering::Acquire) == 0 {
            sys::wait(&WORD, 0, None);
        }
    });
    settle();
    // SAFETY: the handle is `first`'s, alive until it is joined below.
    assert_ne!(unsafe { SuspendThread(first.as_raw_handle()) }, u32::MAX);
    sys::wake_all(&WORD);
    let second = std::thread::spawn(|| {
        let deadline = Instant::now() + PATIENCE;
        while WORD.load(Ordering::Acquire) == 0 {
            if !sys::wait(&WORD, 0, Some(deadline)) {
                return false; // never woken
            }
        }
        true
    });
    settle();
    WORD.store(1, Ordering::Release);
    sys::wake_one(&WORD);
    let woken = second.join().unwrap();
    // SAFETY: as above.
    assert_ne!(unsafe { ResumeThread(first.as_raw_handle()) }, u32::MAX);
    sys::wake_all(&WORD);
    first.join().unwrap();
    assert!(
        woken,
        "the wake_one went to a thread the wake_all had already woken"
    );
}
