//! [`Semaphore`] and [`BoundedSemaphore`]: Python's `threading.Semaphore` and
//! `threading.BoundedSemaphore`, on two 32-bit words and the futex seam.
//!
//! # State
//!
//! Both types wrap one [`RawSemaphore`], two `AtomicU32` words (8 bytes):
//!
//! | word       | meaning                                                                   |
//! |------------|---------------------------------------------------------------------------|
//! | `value`    | the counter, `0..=MAX_VALUE`; also the futex word waiters sleep on at 0   |
//! | `sleepers` | bits 0..24: threads registered in the slow path (about to sleep, asleep,   |
//! |            | or waking); bits 24..31: the fork generation they belong to (low bits);   |
//! |            | bit 31 `SPUN`: hint, the last acquirer that had to wait got               |
//! |            | its unit soon (while spinning, or soon enough that a long spin would have) |
//!
//! ```text
//!  acquire, fast:   value v > 0  --CAS-->  v - 1                       (no syscall)
//!  acquire, slow:   spin up to 20 us if SPUN, else a few steps (CAS when v > 0);
//!                   success: set SPUN, done; failure:
//!                   sleepers += 1
//!                   loop { v > 0: CAS v -> v - 1, done
//!                          v == 0: wait(value, 0, deadline) }          (timeout: last try)
//!                   sleepers -= 1; after a sleep, SPUN := (the wait was short)
//!  release_n(n):    value v  --CAS-->  v + n      (only if v + n <= limit, else Err, v kept)
//!                   s = sleepers; s == 0: done                          (no syscall)
//!                                 n >= s: wake_all, else wake_n(n)      (one syscall)
//! ```
//!
//! `release_n` wakes at most `n` threads, with one system call: `wake_all` when every registered
//! sleeper may have a unit, else `wake_n(n)` (one `FUTEX_WAKE` with count `n` on Linux and
//! FreeBSD; on Windows and macOS, which have no such call, `threadkit_sys::wake_n` makes `n`
//! single wakes, or one wake-all for a large `n`). A woken thread that finds the value 0
//! again lost its unit to a thread that took it without sleeping, so the unit was consumed and
//! no wake-up is owed. A thread whose deadline passes makes one last attempt before it reports a
//! timeout, so a wake-up delivered to it just before its deadline is never lost.
//!
//! # After `fork()`
//!
//! The sleepers registered in a fork child's copy of the word belong to threads that vanished:
//! a count that would never drain, and a system call at every release. So the count carries
//! the fork generation (`wait::fork_generation`, its low 7 bits) it was made in: a release
//! ignores a count of an older generation, and the first thread of the child to register
//! starts the count afresh. The units in `value` are real and stay.
//!
//! # Memory ordering
//!
//! A successful acquire CAS is `Acquire` and the release CAS `SeqCst` (at least `Release`), so
//! everything before a `release` happens before the acquire that takes its unit. The "no
//! syscall when nobody sleeps" rule is a Dekker handshake: the releaser writes `value` then
//! reads `sleepers`, a sleeper writes `sleepers` then reads `value`, all four `SeqCst`. In the
//! single total order of `SeqCst` operations one of the two reads comes last and sees the other
//! side's write: either the releaser sees the sleeper (and wakes it), or the sleeper sees the
//! unit (and does not sleep; the kernel's compare in `wait` covers the window after its read).
//! (Under loom, which does not model the `SeqCst` order of loads, the releaser's read is an
//! `AcqRel` read-modify-write, which is equivalent here; see `sleepers_after_release`.)

use crate::Error;
use crate::rt::{
    AtomicU32, deadline_after, fork_generation, loom_const_fn, set_hint, spin, wait, wake_all,
    wake_n,
};
use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::time::{Duration, Instant};

mod bounded;
pub use bounded::BoundedSemaphore;

/// The hint bit of `sleepers` (see the module docs); the count is in the other bits.
const SPUN: u32 = 1 << 31;
/// The registered sleepers in `sleepers`.
const COUNT: u32 = (1 << 24) - 1;
/// The fork-generation field of `sleepers`.
const GEN_SHIFT: u32 = 24;
const GEN_MASK: u32 = 0x7f << GEN_SHIFT;

/// The low bits of the fork generation, placed where `sleepers` keeps them.
#[inline]
fn generation_bits() -> u32 {
    (fork_generation() << GEN_SHIFT) & GEN_MASK
}

/// The counter shared by [`Semaphore`] and [`BoundedSemaphore`] (see the module docs).
pub(crate) struct RawSemaphore {
    /// The counter, and the futex word.
    value: AtomicU32,
    /// Threads registered in the slow path.
    sleepers: AtomicU32,
}

impl RawSemaphore {
    loom_const_fn! {
        pub(crate) fn new(value: u32) -> Self {
            RawSemaphore { value: AtomicU32::new(value), sleepers: AtomicU32::new(0) }
        }
    }

    #[inline]
    pub(crate) fn value(&self) -> u32 {
        self.value.load(Relaxed)
    }

    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub(crate) fn try_acquire(&self) -> bool {
        let mut v = self.value.load(Relaxed);
        while v > 0 {
            // Transition: v -> v - 1 (take one unit).
            match self.value.compare_exchange_weak(v, v - 1, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
        false
    }

    #[inline]
    pub(crate) fn acquire(&self) {
        if !self.try_acquire() {
            self.acquire_slow(None);
        }
    }

    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub(crate) fn acquire_timeout(&self, timeout: Duration) -> bool {
        if timeout.is_zero() {
            return self.try_acquire();
        }
        self.try_acquire() || self.acquire_slow(deadline_after(timeout))
    }

    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub(crate) fn acquire_until(&self, deadline: Instant) -> bool {
        self.try_acquire() || self.acquire_slow(Some(deadline))
    }

    #[cold]
    fn acquire_slow(&self, deadline: Option<Instant>) -> bool {
        let hint = self.sleepers.load(Relaxed) & SPUN != 0;
        let spun = match spin(hint, deadline, || {
            self.value.load(Relaxed) > 0 && self.try_acquire()
        }) {
            Ok(()) => {
                set_hint(&self.sleepers, SPUN, hint, true);
                return true;
            }
            Err(spun) => spun,
        };
        // Dekker, sleeper side: register, then read `value` (both SeqCst).
        self.register();
        let mut slept = false;
        let got = loop {
            let mut v = self.value.load(SeqCst);
            while v > 0 {
                // Transition: v -> v - 1 (take one unit).
                match self.value.compare_exchange_weak(v, v - 1, Acquire, SeqCst) {
                    Ok(_) => break,
                    Err(now) => v = now,
                }
            }
            if v > 0 {
                break true;
            }
            slept = true;
            if !wait(&self.value, 0, deadline) {
                // The deadline passed; a unit released just before still counts.
                break self.try_acquire();
            }
        };
        self.sleepers.fetch_sub(1, Relaxed);
        if got && slept {
            set_hint(&self.sleepers, SPUN, hint, spun.was_short());
        }
        got
    }

    /// Counts the caller as a sleeper (a `SeqCst` read-modify-write: the sleeper's write of the
    /// Dekker handshake). A count of an older fork generation is dropped first.
    #[inline]
    fn register(&self) {
        let g = generation_bits();
        let mut s = self.sleepers.load(Relaxed);
        loop {
            let count = if s & GEN_MASK == g { s & COUNT } else { 0 };
            // Transition: one more sleeper (the vanished ones of an older generation dropped).
            match self.sleepers.compare_exchange_weak(
                s,
                (s & SPUN) | g | (count + 1),
                SeqCst,
                Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
    }

    /// Adds `n` units unless that would pass `limit`, then wakes at most `n` sleepers.
    #[inline]
    pub(crate) fn release_n(&self, n: u32, limit: u32, err: fn() -> Error) -> Result<(), Error> {
        if n == 0 {
            return Ok(());
        }
        let mut v = self.value.load(Relaxed);
        loop {
            let new = match v.checked_add(n) {
                Some(new) if new <= limit => new,
                _ => return Err(err()),
            };
            // Transition: v -> v + n (check and add in one step: all or nothing).
            // SeqCst: the releaser's write of the Dekker handshake.
            match self.value.compare_exchange_weak(v, new, SeqCst, Relaxed) {
                Ok(_) => break,
                Err(now) => v = now,
            }
        }
        let s = self.sleepers_after_release();
        let sleepers = s & COUNT;
        if sleepers > 0 && s & GEN_MASK == generation_bits() {
            self.wake(n, sleepers);
        }
        Ok(())
    }

    /// Dekker, releaser side: reads `sleepers` after the `SeqCst` write of `value`.
    ///
    /// Loom does not model the single total order of `SeqCst` loads (tokio-rs/loom#180), so
    /// under loom this is an `AcqRel` read-modify-write instead, which gives the same guarantee
    /// a different way: it reads the latest count, and a sleeper's later `fetch_add` synchronizes
    /// with it and so sees the new `value`.
    #[inline]
    fn sleepers_after_release(&self) -> u32 {
        #[cfg(not(threadkit_loom))]
        return self.sleepers.load(SeqCst);
        #[cfg(threadkit_loom)]
        return self
            .sleepers
            .fetch_add(0, std::sync::atomic::Ordering::AcqRel);
    }

    /// One wake-up call for `min(n, sleepers)` threads.
    #[cold]
    fn wake(&self, n: u32, sleepers: u32) {
        if n >= sleepers {
            wake_all(&self.value);
        } else {
            wake_n(&self.value, n as usize);
        }
    }
}

/// Python's `threading.Semaphore`: a counter that `acquire` decrements, blocking while it is
/// 0, and `release` increments. 8 bytes, no heap, `const` constructor.
///
/// `release` makes no system call when no thread sleeps; `release_n(n)` wakes at most `n`.
/// Waiters are not served in FIFO order (Python promises none).
///
/// ```
/// use threadkit::{Acquire, Semaphore};
/// static SLOTS: Semaphore = Semaphore::new(2); // Python: slots = Semaphore(2)
/// let _a = SLOTS.guard();                       // Python: with slots:
/// assert!(SLOTS.try_acquire());
/// assert!(!SLOTS.try_acquire());                // both units are taken
/// SLOTS.release().unwrap();
/// assert_eq!(SLOTS.value(), 1);
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

impl Semaphore {
    /// The largest value a `Semaphore` can hold (`u32::MAX`). A release that would pass it
    /// returns [`Error::Overflow`]; Python's counter has no limit.
    ///
    /// ```
    /// use threadkit::{Error, Semaphore};
    /// let s = Semaphore::new(Semaphore::MAX_VALUE);
    /// assert!(matches!(s.release(), Err(Error::Overflow)));
    /// assert_eq!(s.value(), Semaphore::MAX_VALUE);
    /// ```
    pub const MAX_VALUE: usize = u32::MAX as usize;

    loom_const_fn! {
        /// A semaphore holding `value` units. Python: `Semaphore(value)`.
        ///
        /// # Panics
        ///
        /// If `value` is above [`Semaphore::MAX_VALUE`] (at compile time for a `static`).
        ///
        /// ```
        /// use threadkit::Semaphore;
        /// static POOL: Semaphore = Semaphore::new(4);
        /// assert_eq!(POOL.value(), 4);
        /// ```
        pub fn new(value: usize) -> Semaphore {
            assert!(value <= Semaphore::MAX_VALUE, "Semaphore value above Semaphore::MAX_VALUE");
            Semaphore { raw: RawSemaphore::new(value as u32) }
        }
    }

    /// The current value (a snapshot). Python: `sem._value`.
    ///
    /// ```
    /// let s = threadkit::Semaphore::new(3);
    /// assert_eq!(s.value(), 3);
    /// ```
    #[inline]
    pub fn value(&self) -> usize {
        self.raw.value() as usize
    }

    /// Blocks until a unit is available and takes it. Python: `sem.acquire()`.
    ///
    /// ```
    /// let s = threadkit::Semaphore::new(1);
    /// s.acquire();
    /// assert_eq!(s.value(), 0);
    /// ```
    #[inline]
    pub fn acquire(&self) {
        self.raw.acquire()
    }

    /// Takes a unit if one is available now. Python: `sem.acquire(blocking=False)`.
    ///
    /// ```
    /// let s = threadkit::Semaphore::new(1);
    /// assert!(s.try_acquire());
    /// assert!(!s.try_acquire());
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn try_acquire(&self) -> bool {
        self.raw.try_acquire()
    }

    /// Waits at most `timeout` for a unit; `false` when it passed. Zero behaves like
    /// [`try_acquire`](Self::try_acquire); more than [`TIMEOUT_MAX`](crate::TIMEOUT_MAX) waits
    /// without a timeout. Python: `sem.acquire(timeout=t)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = threadkit::Semaphore::new(0);
    /// assert!(!s.acquire_timeout(Duration::from_millis(1)));
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.raw.acquire_timeout(timeout)
    }

    /// Waits until `deadline` at the latest for a unit; `false` when it passed.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let s = threadkit::Semaphore::new(1);
    /// assert!(s.acquire_until(Instant::now() + Duration::from_millis(1)));
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_until(&self, deadline: Instant) -> bool {
        self.raw.acquire_until(deadline)
    }

    /// Adds one unit, waking one waiter if any. Python: `sem.release()`.
    /// `Err(Overflow)` (value unchanged) if the value is already [`Semaphore::MAX_VALUE`].
    ///
    /// ```
    /// let s = threadkit::Semaphore::new(0);
    /// s.release().unwrap(); // releasing more than was acquired is allowed
    /// assert_eq!(s.value(), 1);
    /// ```
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        self.release_n(1)
    }

    /// Adds `n` units and wakes at most `n` waiters; `n == 0` does nothing. Python:
    /// `sem.release(n)`. `Err(Overflow)`, with the value unchanged, if the value would pass
    /// [`Semaphore::MAX_VALUE`].
    ///
    /// ```
    /// use threadkit::{Error, Semaphore};
    /// let s = Semaphore::new(1);
    /// s.release_n(3).unwrap();
    /// assert_eq!(s.value(), 4);
    /// assert!(matches!(s.release_n(usize::MAX), Err(Error::Overflow)));
    /// assert_eq!(s.value(), 4);
    /// ```
    #[inline]
    pub fn release_n(&self, n: usize) -> Result<(), Error> {
        let n = u32::try_from(n).map_err(|_| Error::Overflow)?;
        self.raw.release_n(n, u32::MAX, || Error::Overflow)
    }
}

crate::acquire::impl_acquire!(Semaphore, "threadkit::Semaphore::new(1)");

impl Default for Semaphore {
    /// A semaphore with value 1, like Python's `Semaphore()`.
    ///
    /// ```
    /// assert_eq!(threadkit::Semaphore::default().value(), 1);
    /// ```
    fn default() -> Self {
        Semaphore::new(1)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.value())
            .finish()
    }
}

/// The wake-up calls of `release_n` (the public behaviour is tested in `tests/semaphore.rs` and
/// `tests/common/semaphore_base.rs`).
#[cfg(all(test, not(threadkit_loom)))]
mod tests {
    use super::{COUNT, Semaphore};
    use crate::rt::wake_calls_during;
    use std::sync::atomic::Ordering::Relaxed;
    use std::thread;
    use std::time::{Duration, Instant};

    /// Waits (yielding) until `k` threads are registered as sleepers of `s`, then lets them reach
    /// the kernel.
    fn until_sleepers(s: &Semaphore, k: u32) {
        let start = Instant::now();
        while s.raw.sleepers.load(Relaxed) & COUNT != k {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "sleepers never registered"
            );
            thread::yield_now();
        }
        thread::sleep(Duration::from_millis(20));
    }

    /// `release_n(n)` with more than `n` sleepers wakes them with one call (`wake_n`), not `n`.
    #[test]
    fn release_n_makes_one_wake_call() {
        const K: u32 = if cfg!(miri) { 3 } else { 5 };
        let s = Semaphore::new(0);
        let calls = thread::scope(|sc| {
            for _ in 0..K {
                sc.spawn(|| s.acquire());
            }
            until_sleepers(&s, K);
            let (calls, r) = wake_calls_during(|| s.release_n(K as usize - 1));
            r.unwrap();
            s.release().unwrap(); // the last sleeper, before any assertion can end the scope
            calls
        });
        assert_eq!(calls, 1, "release_n({}) made {calls} wake-up calls", K - 1);
        assert_eq!(s.value(), 0);
        assert_eq!(s.raw.sleepers.load(Relaxed) & COUNT, 0);
    }

    /// In a fork child, the sleepers registered by the parent's threads are gone: a release
    /// makes no wake-up call for them, and the count starts afresh with the child's sleepers.
    /// (Before the fork generation, the vanished sleepers stayed counted forever: a system call
    /// at every release.)
    #[cfg(all(unix, not(miri)))]
    #[test]
    fn a_fork_child_does_not_count_the_parents_sleepers() {
        static S: Semaphore = Semaphore::new(0);
        let sleeper = thread::spawn(|| S.acquire());
        until_sleepers(&S, 1);
        // SAFETY: fork; the child only runs the checks below and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = std::panic::catch_unwind(|| {
                let (calls, r) = wake_calls_during(|| S.release());
                r.unwrap();
                assert_eq!(calls, 0, "woke a vanished sleeper");
                S.acquire();
                let t = thread::spawn(|| S.acquire());
                until_sleepers(&S, 1);
                S.release().unwrap();
                t.join().unwrap();
                assert_eq!(S.raw.sleepers.load(Relaxed) & COUNT, 0);
            })
            .is_ok();
            // SAFETY: `_exit` has no preconditions.
            unsafe { libc::_exit(i32::from(!ok)) };
        }
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        S.release().unwrap();
        sleeper.join().unwrap();
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the child failed: status {status:#x}"
        );
    }

    /// With nobody registered, a release makes no call at all.
    #[test]
    fn release_without_sleepers_makes_no_call() {
        let s = Semaphore::new(0);
        let (calls, r) = wake_calls_during(|| s.release_n(3));
        r.unwrap();
        assert_eq!(calls, 0);
    }
}
