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
//!  acquire, slow:   spin up to 10 us if SPUN, else a few steps (CAS when v > 0);
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
use crate::rt::loom_const_fn;
use std::fmt;
use std::time::{Duration, Instant};

/// The methods that [`Semaphore`] and [`BoundedSemaphore`] share word for word: the value and
/// the four ways to take a unit, each a call on the `raw` field (`release` differs: its limit
/// and its error).
macro_rules! unit_methods {
    ($ty:ident) => {
        /// The current value (a snapshot). Python: `sem._value`.
        ///
        /// ```
        #[doc = concat!("let s = threadkit::", stringify!($ty), "::new(3);")]
        /// s.acquire();
        /// assert_eq!(s.value(), 2);
        /// ```
        #[inline]
        pub fn value(&self) -> usize {
            self.raw.value() as usize
        }

        /// Blocks until a unit is available and takes it. Python: `sem.acquire()`.
        ///
        /// ```
        #[doc = concat!("let s = threadkit::", stringify!($ty), "::new(1);")]
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
        #[doc = concat!("let s = threadkit::", stringify!($ty), "::new(1);")]
        /// assert!(s.try_acquire());
        /// assert!(!s.try_acquire());
        /// ```
        #[inline]
        #[must_use = "if it returned true the primitive is held and must be released"]
        pub fn try_acquire(&self) -> bool {
            self.raw.try_acquire()
        }

        /// Waits at most `timeout` for a unit; `false` when it passed. Zero behaves like
        /// [`try_acquire`](Self::try_acquire); more than [`TIMEOUT_MAX`](crate::TIMEOUT_MAX)
        /// waits without a timeout. Python: `sem.acquire(timeout=t)`.
        ///
        /// ```
        /// use std::time::Duration;
        #[doc = concat!("let s = threadkit::", stringify!($ty), "::new(0);")]
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
        #[doc = concat!("let s = threadkit::", stringify!($ty), "::new(1);")]
        /// assert!(s.acquire_until(Instant::now() + Duration::from_millis(1)));
        /// ```
        #[inline]
        #[must_use = "if it returned true the primitive is held and must be released"]
        pub fn acquire_until(&self, deadline: Instant) -> bool {
            self.raw.acquire_until(deadline)
        }
    };
}
use unit_methods;

mod bounded;
mod raw;
pub use bounded::BoundedSemaphore;
pub(crate) use raw::RawSemaphore;

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

    unit_methods!(Semaphore);

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
    use super::Semaphore;
    use super::raw::COUNT;
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
        let ok = crate::rt::child_passes(|| {
            let (calls, r) = wake_calls_during(|| S.release());
            r.unwrap();
            assert_eq!(calls, 0, "woke a vanished sleeper");
            S.acquire();
            let t = thread::spawn(|| S.acquire());
            until_sleepers(&S, 1);
            S.release().unwrap();
            t.join().unwrap();
            assert_eq!(S.raw.sleepers.load(Relaxed) & COUNT, 0);
        });
        S.release().unwrap();
        sleeper.join().unwrap();
        assert!(ok, "the child failed");
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
