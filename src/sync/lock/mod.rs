//! [`Lock`]: Python's `threading.Lock`, one 32-bit futex word.
//!
//! # The state word
//!
//! | bits  | name      | meaning                                                              |
//! |-------|-----------|----------------------------------------------------------------------|
//! | 0     | `LOCKED`  | the lock is held (by nobody in particular: a `Lock` has no owner)    |
//! | 1     | `HANDOFF` | a sleeper has waited longer than [`STARVATION_LIMIT`]: the next unlock hands the lock over instead of freeing it |
//! | 2     | `HANDED`  | the lock was handed over to the waiters counted before it; the first counted waiter to claim it owns that hold |
//! | 3     | `WAKING`  | an unlock has woken a counted waiter that has not run yet: later unlocks wake nobody more |
//! | 4     | `NEWCOMERS` | (with `HANDED`) threads that came during the hand-over sleep on the word, uncounted |
//! | 5     | `RELEASED` | (with `HANDED`) the handed hold was released before anyone claimed it: the claimer's acquire completes without the lock (it was acquired at the hand-over and released since); `LOCKED` is then an ordinary hold of its own |
//! | 6..11 | fork generation | the low bits of `rt`'s fork generation the waiter state belongs to (kept 0 while there is none): after a `fork()` the first slow path of the child discards the vanished threads' waiters |
//! | 11..32| waiters   | how many threads are counted as waiting in the slow path (unit [`ONE_WAITER`]; at most 2^21 - 1) |
//!
//! ```text
//!                 acquire: CAS 0 -> LOCKED (fast path)
//!        +-------------------------------------------------+
//!        |                                                 v
//!   [unlocked] <--- unlock, no waiters: CAS LOCKED -> 0 --- [locked]
//!        ^                                                 |  a waiter arrives: += ONE_WAITER,
//!        |                                                 |  sleeps on the word
//!        |   unlock, waiters > 0: clear LOCKED; unless     v
//!        |   WAKING, set it and wake one                   |
//!        +--------------------------------------- [locked, waiters > 0]
//!                                                   |            ^
//!              unlock with HANDOFF: keep LOCKED,    |            | a waiter starved: set HANDOFF
//!              set HANDED, wake one                 v            |
//!                                          [locked, HANDED] -- a counted waiter claims it:
//!                                            |  ^   |          clear HANDED (and NEWCOMERS,
//!            a thread arrives: set NEWCOMERS, |  |   |          waking them all), -= ONE_WAITER
//!            sleep uncounted                  +--+   | unlock (any thread): the handed hold
//!                                                    v ends; clear LOCKED, set RELEASED
//!                                     [HANDED | RELEASED] -- a counted waiter claims it:
//!                                     (LOCKED free to take)    clear HANDED | RELEASED,
//!                                                              -= ONE_WAITER; its acquire
//!                                                              returns (the hold it got at
//!                                                              the hand-over is already gone)
//! ```
//!
//! A hand-over *is* the acquire of whichever counted waiter claims it, so every path keeps
//! "successful acquires - successful releases" at 1 while the lock is held and 0 while it is
//! free: an unlock of a handed lock that nobody has claimed yet releases that waiter's hold
//! (as a Python `Lock` released by another thread just after `acquire()` returned), and its
//! `acquire()` still returns, with the lock free. (Freeing the word outright, as before, made
//! the waiter take the free lock once more: one release too many, and a lock left held.)
//!
//! Invariant: `HANDED` implies `LOCKED` and at least one counted waiter, because a counted waiter
//! that gives up (timeout) claims a handed lock instead of leaving; so a handed lock is never
//! orphaned. `HANDOFF` is cleared when the last counted waiter leaves. A handed lock is for
//! the waiters counted before the hand-over: a thread never counts itself while `HANDED` is
//! set (it counts with a compare-and-swap from a value without it). Instead it marks
//! `NEWCOMERS` and sleeps uncounted, and whichever transition clears `HANDED` (a claim, or an
//! unlock of the handed lock by another thread) also clears `NEWCOMERS` and wakes every
//! sleeper. Otherwise the thread that hands the lock over, relocking at once, would count
//! itself and take back nearly every lock it hands over. Newcomers are never counted, so a
//! handed lock still always has a counted waiter to claim it.
//!
//! `WAKING` (as Go's `mutexWoken`) keeps a busy lock from making a system call at every
//! unlock while the waiter it woke is still on its way (a futex wake-up takes microseconds;
//! the holder may unlock hundreds of times meanwhile). Invariant: while `WAKING` is set, some
//! counted waiter will still look at the word. Every transition of a counted waiter (taking the
//! lock, leaving the count) clears it, and a counted waiter never sleeps on a value with
//! `WAKING` set: it clears it first. So when the unlock that set it finds no sleeper to wake,
//! the waiter that was about to sleep sees it instead (its futex compare fails, or it reads it)
//! and goes on as the woken one; clearing it early only ever costs an extra wake-up.
//!
//! # After `fork()`
//!
//! In the child of a `fork()` only the forking thread exists, so every waiter the word counts,
//! and any `HANDOFF`, `HANDED`, `WAKING`, `NEWCOMERS` or `RELEASED` flag, belongs to threads
//! that vanished. The waiter state carries the low bits of the process's fork generation
//! (`wait::fork_generation`, bumped in every child); the first slow path that finds an older
//! one (any acquire or release that is not a bare fast path, or a notifier counting a waiter)
//! replaces the word by what it would be had those threads never waited: a lock handed to a
//! vanished waiter and not yet claimed is free; any other `LOCKED` stays (a lock that a
//! vanished thread *held* stays held, as in CPython). Generations are compared modulo 32: a
//! lock left untouched with waiters through 32 nested forks is the one case not caught.
//!
//! # Memory ordering
//!
//! Every transition is a read-modify-write of the one word, so all of them are totally ordered
//! (coherence) and the futex compare in the kernel sees the latest value: counting a waiter or
//! setting a flag can be `Relaxed`. Taking the lock (`LOCKED` set, or `HANDED` claimed) is an
//! `Acquire` RMW and freeing or handing it over is a `Release` RMW, so the critical sections are
//! ordered: everything before an unlock happens-before everything after the next acquire.

use crate::Error;
use crate::acquire::impl_acquire;
use crate::rt::{self as wait, AtomicU32, deadline_after, loom_const_fn};
use core::fmt;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

const LOCKED: u32 = 1;
const HANDOFF: u32 = 2;
const HANDED: u32 = 4;
const WAKING: u32 = 8;
const NEWCOMERS: u32 = 16;
const RELEASED: u32 = 32;
/// The fork-generation field (see [`wait::fork_generation`]).
const GEN_SHIFT: u32 = 6;
const GEN_MASK: u32 = 31 << GEN_SHIFT;
/// One counted waiter in the upper bits of the word.
const ONE_WAITER: u32 = 1 << 11;
/// Every bit that records waiters (everything but `LOCKED` and the generation): a word
/// without any of them is exactly `0` or `LOCKED`, which the fast paths compare against.
const WAITER_STATE: u32 = !(LOCKED | GEN_MASK);

/// How long a newcomer spins on a held lock before it counts itself in and sleeps (see
/// `spin_then_try`): it looks at the lock on arrival, after [`QUICK_LOOK`], after
/// [`FIRST_LOOK`], and after twice as long each time, at most [`LOOK_MAX`] apart. The clock,
/// not a count of steps, bounds it, because a step (`PAUSE`) takes 12 ns on one machine and 40
/// on another (`rt::steps_for` measures it). A newcomer spins even while other waiters sleep:
/// with short critical sections and more threads than CPUs some waiter nearly always sleeps,
/// yet the lock frees every few dozen nanoseconds, and giving up at once (as this did once)
/// made every newcomer count itself in, and nearly every unlock a futex wake for a waiter not
/// yet asleep. Spinning is skipped entirely on a single CPU; it yields the CPU at most once
/// per 250 us per thread ([`YIELD_STEP`]): on a busy machine a yield can give a whole
/// timeslice to another process, while a sleeper is woken in microseconds. A spinner that
/// loses its CPU meanwhile finds its time spent when it runs again, and sleeps.
const SPIN_TIME: Duration = Duration::from_micros(10);

/// The look after which a spinner that still finds the lock held calls `rt::yield_to_holder`
/// (a yield at most once per 250 us per thread; never in a timed acquire, which a lost
/// timeslice would make late): after the arrival, [`QUICK_LOOK`] and [`FIRST_LOOK`] looks,
/// half a microsecond in. On a busy machine this keeps contenders from running at the same
/// time, passing the lock's cache line to and fro; the figures are at that function.
const YIELD_STEP: u32 = 2;

/// The wait before a spinner's second look, in nanoseconds: a holder that is about to let go
/// (a notifier that releases the lock its waiter reacquires, the other side of a one-slot
/// queue) is caught at once.
const QUICK_LOOK: u32 = 100;

/// The wait before the third look, in nanoseconds; each later wait is twice the one before.
/// A look takes the cache line from the holder, which then waits for it back at its unlock
/// and at its next lock: the rarer the looks, the faster the holder, and while the lock is
/// busy it changes hands between running threads anyway. Against looks after 2, 4, 8, ...
/// steps (the spin this replaced), on the 2-CPU VM of `docs/benchmarks-history.md` (12 ns steps):
/// 4 threads on a random one of 2 locks 61-67 -> 41 ns per lock, one lock with a 50 ns
/// section at 16 threads 104 -> 82 ns; up to 7% slower with 0.6 us sections, where a later
/// look now and then misses a release (figures and the other thread counts there). Without
/// the quick look, a one-slot queue's producer and consumer pass the lock in 0.9-2.9 us per
/// item instead of 0.7, and a `Condition` ping-pong round trip takes 0.79 us instead of 0.72.
const FIRST_LOOK: u32 = 400;

/// The longest wait between two looks, in nanoseconds (the wait doubles up to it).
const LOOK_MAX: u32 = 3_000;

/// An upper bound on a spin's rounds besides [`SPIN_TIME`] (and what `rt::spin_limit` turns
/// into 0 under loom, where nothing spins).
const SPIN_ROUNDS: u32 = 64;

/// How long a sleeper may be overtaken by newcomers before it asks for the lock to be handed
/// to a sleeper directly (the figure CPython 3.13 and Go use).
pub(crate) const STARVATION_LIMIT: Duration = Duration::from_millis(1);

/// A primitive lock: Python's `threading.Lock`.
///
/// Not owned by any thread: any thread may release it. Four bytes, no heap, `const`
/// constructor, adaptive spinning then sleeping on a futex; a waiter that has been overtaken
/// for more than 1 ms gets the lock handed over, so nobody starves.
///
/// ```
/// use threadkit::Lock;
/// let lock = Lock::new(); // Python: threading.Lock()
/// lock.acquire();
/// assert!(lock.locked());
/// assert!(!lock.try_acquire()); // Python: lock.acquire(blocking=False)
/// lock.release().unwrap();
/// assert!(lock.release().is_err()); // Python: RuntimeError: release unlocked lock
/// ```
pub struct Lock {
    state: AtomicU32,
}

impl Lock {
    loom_const_fn! {
        /// A new, unlocked lock. Python: `threading.Lock()`.
        ///
        /// ```
        /// static L: threadkit::Lock = threadkit::Lock::new();
        /// assert!(!L.locked());
        /// ```
        pub fn new() -> Lock {
            Lock { state: AtomicU32::new(0) }
        }
    }

    /// Whether the lock is held (by any thread). Python: `lock.locked()`.
    ///
    /// ```
    /// let lock = threadkit::Lock::new();
    /// assert!(!lock.locked());
    /// ```
    #[inline]
    pub fn locked(&self) -> bool {
        let s = self.state.load(Relaxed);
        // (A handed lock may be a vanished waiter's in a fork child: look again, cleaned.)
        is_held(s) && (!is_handed(s) || is_held(self.current_state()))
    }

    /// Blocks until the lock is acquired. Python: `lock.acquire()`.
    ///
    /// ```
    /// let lock = threadkit::Lock::new();
    /// lock.acquire();
    /// assert!(lock.locked());
    /// ```
    #[inline]
    pub fn acquire(&self) {
        // Transition: free (waiters may be counted) -> LOCKED, as `try_acquire` makes it; on a
        // held word the bit is already set and nothing changes. One `lock bts` on x86: on the
        // AMD EPYC VM of docs/benchmarks-history.md an uncontended acquire + release took
        // 4.9 ns with a compare-and-swap here, 4.4 with this (a CAS + swap loop: 4.5).
        if self.state.fetch_or(LOCKED, Acquire) & LOCKED != 0 {
            self.acquire_slow(None, false);
        }
    }

    /// Acquires the lock if it is free, without blocking. Python:
    /// `lock.acquire(blocking=False)`.
    ///
    /// ```
    /// let lock = threadkit::Lock::new();
    /// assert!(lock.try_acquire());
    /// assert!(!lock.try_acquire());
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn try_acquire(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        if is_handed(s) {
            // (Possibly handed to a vanished waiter in a fork child: cleaned first.)
            s = self.current_state();
        }
        while !is_held(s) {
            // Transition: free (waiters may be counted) -> LOCKED.
            match self
                .state
                .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    /// Blocks for at most `timeout`; `false` if the lock could not be acquired in time.
    /// Zero behaves like [`try_acquire`](Lock::try_acquire); a timeout beyond
    /// [`TIMEOUT_MAX`](crate::TIMEOUT_MAX) waits forever. Python: `lock.acquire(timeout=t)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = threadkit::Lock::new();
    /// assert!(lock.acquire_timeout(Duration::from_millis(10)));
    /// assert!(!lock.acquire_timeout(Duration::from_millis(10))); // held: times out
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        if self.try_acquire() {
            return true;
        }
        if timeout.is_zero() {
            return false;
        }
        self.acquire_slow(deadline_after(timeout), false)
    }

    /// Blocks until `deadline` at the latest; `false` if the lock could not be acquired by then.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let lock = threadkit::Lock::new();
    /// assert!(lock.acquire_until(Instant::now() + Duration::from_millis(10)));
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_until(&self, deadline: Instant) -> bool {
        self.try_acquire() || self.acquire_slow(Some(deadline), false)
    }

    /// Releases the lock; any thread may do so. On an unlocked lock returns
    /// [`Error::NotLocked`] and changes nothing. Python: `lock.release()`.
    ///
    /// ```
    /// let lock = threadkit::Lock::new();
    /// lock.acquire();
    /// lock.release().unwrap();
    /// assert!(matches!(lock.release(), Err(threadkit::Error::NotLocked)));
    /// ```
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        // Transition: LOCKED, nobody waiting -> unlocked.
        // (The error is built here, not in the slow path, so that callers which drop the
        // result see only `Ok` or a drop-free `NotLocked` and no drop glue is run.)
        if self
            .state
            .compare_exchange(LOCKED, 0, Release, Relaxed)
            .is_ok()
            || self.release_slow()
        {
            Ok(())
        } else {
            Err(Error::NotLocked)
        }
    }

    /// Counts one more waiter on behalf of a thread that will call
    /// [`lock_counted`](Lock::lock_counted) (a notified `Condition` waiter being requeued or
    /// woken). While it is counted, every unlock wakes a sleeper of this word. `false` (nobody
    /// counted) during a hand-over: a waiter counted after it must not claim a hold that
    /// belongs to the waiters counted before it, so the caller wakes the thread to acquire as a
    /// newcomer instead.
    #[inline]
    #[must_use]
    pub(crate) fn add_waiter(&self) -> bool {
        let mut s = self.current_state();
        loop {
            if is_handed(s) {
                return false;
            }
            // Transition: one more counted waiter (stamped with this process's generation).
            match self
                .state
                .compare_exchange_weak(s, stamp(s + ONE_WAITER), Relaxed, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Acquires the lock as a waiter already counted by [`add_waiter`](Lock::add_waiter).
    #[inline]
    pub(crate) fn lock_counted(&self) {
        self.acquire_slow(None, true);
    }

    /// Moves one sleeper of `from` onto this lock's word (or wakes it where the OS cannot
    /// requeue), for a waiter counted by [`add_waiter`](Lock::add_waiter). If the lock turns out
    /// to be free once the sleeper is moved (nobody holds it to wake it later), wakes a sleeper
    /// of this word, so the moved thread can never be stranded.
    ///
    /// # Safety
    /// `from` must point to a live `AtomicU32` for the duration of the call.
    pub(crate) unsafe fn requeue_from(&self, from: *const AtomicU32, expected: u32) {
        // SAFETY: forwarded precondition: `from` is live for the call.
        unsafe { wait::requeue_one(from, expected, &self.state) };
        // An RMW, not a load: it reads the latest value, so an unlock ordered after it sees our
        // counted waiter and wakes the moved thread itself, unless an unlock before it set
        // WAKING (its wake-up may have found nobody on this word yet): then wake it here too.
        // During a hand-over (which woke everybody, perhaps before the move) every sleeper is
        // woken: a single wake-up would go to the oldest sleeper, an uncounted newcomer, and
        // leave the moved thread, perhaps the only counted waiter, asleep on a handed lock.
        let s = self.state.fetch_add(0, Relaxed);
        if is_handed(s) {
            wait::wake_all(&self.state);
        } else if s & (LOCKED | WAKING) != LOCKED {
            wait::wake_one(&self.state);
        }
    }
}

impl_acquire!(Lock, "threadkit::Lock::new()");

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Relaxed);
        f.debug_struct("Lock")
            .field("locked", &is_held(s))
            .field("waiters", &waiters(s))
            .finish()
    }
}

mod fair;
mod fork;
mod slow;
mod state;

use fork::stamp;
use state::{is_handed, is_held, waiters};

#[cfg(all(test, threadkit_loom))]
mod loom_tests;

#[cfg(all(test, not(threadkit_loom)))]
mod tests;
