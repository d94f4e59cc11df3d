//! [`Lock`]: Python's `threading.Lock`, one 32-bit futex word.
//!
//! # The state word
//!
//! | bits  | name      | meaning                                                              |
//! |-------|-----------|----------------------------------------------------------------------|
//! | 0     | `LOCKED`  | the lock is held (by nobody in particular: a `Lock` has no owner)    |
//! | 1     | `HANDOFF` | a sleeper has waited longer than [`STARVATION_LIMIT`]: the next unlock hands the lock over instead of freeing it |
//! | 2     | `HANDED`  | (with `LOCKED`) the lock was handed over and belongs to whichever counted waiter claims it first |
//! | 3     | `WAKING`  | an unlock has woken a counted waiter that has not run yet: later unlocks wake nobody more |
//! | 4..32 | waiters   | how many threads are counted as waiting in the slow path (unit [`ONE_WAITER`]) |
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
//!                                                              clear HANDED, -= ONE_WAITER
//! ```
//!
//! Invariant: `HANDED` implies `LOCKED` and at least one counted waiter, because a counted waiter
//! that gives up (timeout) claims a handed lock instead of leaving; so a handed lock is never
//! orphaned. `HANDOFF` is cleared when the last counted waiter leaves. A handed lock is for
//! the waiters that were counted before the hand-over: a newcomer that counts itself while
//! `HANDED` is set does not claim it (else a thread that unlocks and relocks in a loop would
//! take back every lock it hands over), unless it is still unclaimed after [`HANDOFF_GRACE`].
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
//! # Memory ordering
//!
//! Every transition is a read-modify-write of the one word, so all of them are totally ordered
//! (coherence) and the futex compare in the kernel sees the latest value: counting a waiter or
//! setting a flag can be `Relaxed`. Taking the lock (`LOCKED` set, or `HANDED` claimed) is an
//! `Acquire` RMW and freeing or handing it over is a `Release` RMW, so the critical sections are
//! ordered: everything before an unlock happens-before everything after the next acquire.

use crate::Error;
use crate::acquire::impl_acquire;
use crate::wait::{
    self, AtomicU32, Stopwatch, deadline_after, loom_const_fn, may_spin, spin_hint, spin_limit,
};
use core::fmt;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

const LOCKED: u32 = 1;
const HANDOFF: u32 = 2;
const HANDED: u32 = 4;
const WAKING: u32 = 8;
/// One counted waiter in the upper bits of the word.
const ONE_WAITER: u32 = 16;

/// How many times a newcomer re-reads a held lock, after 2, 4 and 8 busy-wait steps (14 in
/// all, under half a microsecond), before it starts yielding. Spinning stops as soon as
/// anyone is asleep (then the lock is clearly not about to be free) and is skipped entirely on
/// a single CPU.
const SPIN_ROUNDS: u32 = 3;

/// How many times a newcomer that spun in vain yields the CPU (re-reading the lock after each)
/// before it sleeps: on a busy machine the holder may be waiting for this very core.
const YIELD_LIMIT: u32 = 7;

/// How long a sleeper may be overtaken by newcomers before it asks for the lock to be handed
/// to a sleeper directly (the figure CPython 3.13 and Go use).
pub(crate) const STARVATION_LIMIT: Duration = Duration::from_millis(1);

/// How long a waiter that arrived during a hand-over leaves the handed lock to the waiters
/// that were there before it (one of them normally claims it within a wake-up's latency), before
/// it may claim it itself. Only a safety net: it matters when the hand-over's wake-up found
/// nobody asleep and every waiter left is such a newcomer.
const HANDOFF_GRACE: Duration = Duration::from_millis(1);

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
        self.state.load(Relaxed) & LOCKED != 0
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
        // Transition: unlocked, nobody waiting -> LOCKED.
        if self
            .state
            .compare_exchange_weak(0, LOCKED, Acquire, Relaxed)
            .is_err()
        {
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
    pub fn try_acquire(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        while s & LOCKED == 0 {
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

    /// Releases a lock that has waiters or flags; `false` if it was not locked.
    #[cold]
    fn release_slow(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & LOCKED == 0 {
                return false;
            }
            let waiters = s / ONE_WAITER;
            let (new, wake) = if waiters == 0 {
                // Transition: locked, nobody counted -> unlocked (flags cleared).
                (s & !(LOCKED | HANDOFF | HANDED | WAKING), false)
            } else if s & HANDOFF != 0 {
                // Transition: a starving waiter asked -> stay LOCKED, HANDED to a waiter.
                ((s & !HANDOFF) | HANDED | WAKING, true)
            } else if s & WAKING != 0 {
                // Transition: locked with waiters, one already on its way -> unlocked; it
                // (or another counted waiter) will look at the word: no wake-up.
                (s & !(LOCKED | HANDED), false)
            } else {
                // Transition: locked with waiters -> unlocked, WAKING (a handed lock is freed
                // too).
                ((s & !(LOCKED | HANDED)) | WAKING, true)
            };
            match self.state.compare_exchange_weak(s, new, Release, Relaxed) {
                Ok(_) => {
                    if wake {
                        wait::wake_one(&self.state);
                    }
                    return true;
                }
                Err(now) => s = now,
            }
        }
    }

    /// The slow path of every blocking acquire. `counted`: the caller is already counted as a
    /// waiter (by [`add_waiter`](Lock::add_waiter)). Returns `false` only on timeout.
    ///
    /// A waiter spins (and then yields) uncounted; counts itself and sleeps; and once woken, if
    /// the lock was taken again meanwhile, leaves the count and spins again, so that an unlock
    /// wakes a sleeper only while one really sleeps (as the parking-lot crate's waiters do).
    /// A starving waiter (one that has asked for [`HANDOFF`]) stays counted until it gets the
    /// lock.
    #[cold]
    fn acquire_slow(&self, deadline: Option<Instant>, mut counted: bool) -> bool {
        let mut starving = Stopwatch::default();
        // Whether this waiter may claim a HANDED lock. A newcomer that counts itself while a
        // hand-over is under way may not: it would take the lock handed to the sleepers (an
        // unlock-and-relock loop would barge past a starving waiter forever). It may once it
        // has seen the word without HANDED, or has slept. A notified `Condition` waiter
        // (counted by its notifier) may.
        let mut may_claim = counted;
        loop {
            if !counted {
                if self.spin_then_try(deadline) {
                    return true;
                }
                // Transition: count ourselves as a waiter (the lock is held, or we give up
                // spinning).
                let prev = self.state.fetch_add(ONE_WAITER, Relaxed);
                counted = true;
                may_claim = prev & HANDED == 0;
            }
            let s = self.state.load(Relaxed);
            if s & HANDED != 0 && !may_claim {
                // Not ours: sleep until a waiter that was there claims it and its unlock
                // wakes us, but for at most HANDOFF_GRACE: should the hand-over's wake-up have
                // found nobody asleep, and every waiter be a newcomer like us, one of us must
                // claim it. (WAKING is left alone: it belongs to the hand-over.)
                let grace = Instant::now().checked_add(HANDOFF_GRACE);
                let until = match (deadline, grace) {
                    (Some(d), Some(g)) => Some(d.min(g)),
                    (d, g) => d.or(g),
                };
                if !wait::wait(&self.state, s, until)
                    && deadline.is_some_and(|d| Instant::now() >= d)
                {
                    return self.give_up();
                }
                may_claim = true;
                continue;
            }
            may_claim = true;
            if self.try_take_as_waiter(s) {
                return true;
            }
            if s & (LOCKED | HANDED) != LOCKED {
                continue; // The word moved under us; look again.
            }
            if s & WAKING != 0 {
                // Transition: we take over from the waiter an unlock woke (it may be us, or
                // nobody slept): never sleep on a value with WAKING set.
                let _ = self
                    .state
                    .compare_exchange(s, s & !WAKING, Relaxed, Relaxed);
                continue;
            }
            if s & HANDOFF == 0 && starving.exceeded(STARVATION_LIMIT) {
                // Transition: a starving waiter asks for the next unlock to hand over.
                let _ = self
                    .state
                    .compare_exchange(s, s | HANDOFF, Relaxed, Relaxed);
                continue;
            }
            if !wait::wait(&self.state, s, deadline) {
                return self.give_up();
            }
            if s & HANDOFF == 0 && may_spin() {
                // Woken (or spuriously): unless the lock is ours now, leave the count and
                // spin again.
                if self.give_up() {
                    return true;
                }
                counted = false;
            }
        }
    }

    /// Spins while the lock is held and nobody sleeps on it, re-reading it after 2, 4, 8, ...
    /// busy-wait steps (backing off, so the holder keeps the cache line), then yields the CPU
    /// a few times, taking the lock if it frees up. `true` if acquired.
    #[inline]
    fn spin_then_try(&self, deadline: Option<Instant>) -> bool {
        let (rounds, steps) = if may_spin() {
            (
                spin_limit(SPIN_ROUNDS),
                spin_limit(SPIN_ROUNDS + YIELD_LIMIT),
            )
        } else {
            (0, 0)
        };
        let mut step = 0;
        loop {
            let s = self.state.load(Relaxed);
            if s & LOCKED == 0 {
                // Transition: free -> LOCKED (barging allowed; HANDOFF bounds starvation).
                if self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            if step == steps || s >= ONE_WAITER {
                return false;
            }
            if step < rounds {
                for _ in 0..2u32 << step {
                    spin_hint();
                }
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            } else {
                wait::yield_now();
            }
            step += 1;
        }
    }

    /// A counted waiter tries to take the lock from state `s`, leaving the count. `true` if
    /// acquired.
    #[inline]
    fn try_take_as_waiter(&self, s: u32) -> bool {
        let new = if s & HANDED != 0 {
            // Transition: HANDED -> ours (LOCKED stays), one waiter fewer, WAKING cleared.
            (s & !(HANDED | WAKING)) - ONE_WAITER
        } else if s & LOCKED == 0 {
            // Transition: free -> LOCKED, one waiter fewer, WAKING cleared.
            ((s | LOCKED) & !WAKING) - ONE_WAITER
        } else {
            return false;
        };
        let new = if new < ONE_WAITER {
            new & !HANDOFF
        } else {
            new
        };
        self.state
            .compare_exchange(s, new, Acquire, Relaxed)
            .is_ok()
    }

    /// A counted waiter's deadline passed: leave the count, unless the lock is free or handed
    /// over, in which case take it (returning `true`).
    #[cold]
    fn give_up(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            if self.try_take_as_waiter(s) {
                return true;
            }
            if s & (LOCKED | HANDED) != LOCKED {
                s = self.state.load(Relaxed);
                continue;
            }
            // Transition: one waiter fewer, WAKING cleared (the holder's unlock will wake
            // another); the last one clears a pending HANDOFF request.
            let mut new = (s & !WAKING) - ONE_WAITER;
            if new < ONE_WAITER {
                new &= !HANDOFF;
            }
            match self.state.compare_exchange_weak(s, new, Relaxed, Relaxed) {
                Ok(_) => return false,
                Err(now) => s = now,
            }
        }
    }

    /// Counts one more waiter on behalf of a thread that will call
    /// [`lock_counted`](Lock::lock_counted) (a notified `Condition` waiter being requeued or
    /// woken). While it is counted, every unlock wakes a sleeper of this word.
    #[inline]
    pub(crate) fn add_waiter(&self) {
        // Transition: one more counted waiter.
        self.state.fetch_add(ONE_WAITER, Relaxed);
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
        let s = self.state.fetch_add(0, Relaxed);
        if s & (LOCKED | WAKING) != LOCKED {
            wait::wake_one(&self.state);
        }
    }
}

impl_acquire!(Lock);

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Relaxed);
        f.debug_struct("Lock")
            .field("locked", &(s & LOCKED != 0))
            .field("waiters", &(s / ONE_WAITER))
            .finish()
    }
}

#[cfg(all(test, loom))]
#[path = "lock_loom_tests.rs"]
mod loom_tests;
