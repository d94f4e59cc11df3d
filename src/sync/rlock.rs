//! [`RLock`]: Python's `threading.RLock`, a [`Lock`] plus an owner and a recursion count.
//!
//! # State
//!
//! | field   | type        | meaning                                                       |
//! |---------|-------------|---------------------------------------------------------------|
//! | `lock`  | [`Lock`]    | held exactly while some thread owns the `RLock`               |
//! | `owner` | `AtomicU64` | the owner's `current_thread_id()`, 0 = nobody                 |
//! | `count` | `AtomicU32` | the recursion level, written only by the owner (0 = not held) |
//!
//! ```text
//!                 other thread: lock.acquire(), owner = me, count = 1
//!   [unowned] -----------------------------------------------------> [owned by me, count 1]
//!  owner 0,   <-----------------------------------------------------   |          ^
//!  count 0      release at count 1: count = 0, owner = 0,             | acquire  | release
//!               lock.release()                                        v          | count > 1
//!                                                                   [owned by me, count n + 1]
//!                   (acquire and release by the owner: plain load + store of
//!                    `count`, no read-modify-write; release by anyone else:
//!                    Err(NotOwner), nothing changes)
//! ```
//!
//! # Memory ordering
//!
//! Mutual exclusion and the happens-before between critical sections come from `lock`
//! (`Acquire` on taking it, `Release` on freeing it). `owner` and `count` are `Relaxed`: a thread
//! only compares `owner` with its own id, and the only write of that id is its own (made while
//! it holds `lock`, and cleared by itself before it frees `lock`), so by read-write coherence it
//! reads its own id exactly while it owns the `RLock`, whatever other threads store. `count` is
//! written only by the owner; others read it only for `Debug`. Thread ids are unique among
//! live threads; as in Python, a thread that exits while owning an `RLock` leaves it owned by
//! an id that a later thread may reuse.

use crate::Error;
use crate::Lock;
use crate::rt::{AtomicU32, AtomicU64, current_thread_id, loom_const_fn};
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// A reentrant lock: Python's `threading.RLock`.
///
/// The thread that acquired it may acquire it again without blocking and must release it as
/// many times; other threads block meanwhile, and their `release` is an error. 16 bytes, no
/// heap, `const` constructor; acquiring and releasing it again as the owner makes no atomic
/// read-modify-write.
///
/// ```
/// use threadkit::{Acquire, RLock};
/// static R: RLock = RLock::new(); // Python: r = threading.RLock()
/// let _outer = R.guard();          // Python: with r:
/// let _inner = R.guard();          //             with r:   (same thread: no deadlock)
/// assert_eq!(R.recursion_count(), 2);
/// ```
pub struct RLock {
    /// Held while some thread owns the `RLock`.
    lock: Lock,
    /// The recursion level; written only by the owner.
    count: AtomicU32,
    /// The owner's thread id, 0 when unowned.
    owner: AtomicU64,
}

impl RLock {
    loom_const_fn! {
        /// A new, unowned reentrant lock. Python: `threading.RLock()`.
        ///
        /// ```
        /// static R: threadkit::RLock = threadkit::RLock::new();
        /// assert!(!R.locked());
        /// ```
        pub fn new() -> RLock {
            RLock { lock: Lock::new(), count: AtomicU32::new(0), owner: AtomicU64::new(0) }
        }
    }

    /// Whether any thread holds the lock. Python: `rlock.locked()`.
    ///
    /// ```
    /// let r = threadkit::RLock::new();
    /// r.acquire();
    /// assert!(r.locked());
    /// ```
    #[inline]
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Whether the calling thread holds the lock. Python: `rlock._is_owned()`.
    ///
    /// ```
    /// let r = threadkit::RLock::new();
    /// assert!(!r.is_owned());
    /// r.acquire();
    /// assert!(r.is_owned());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(!r.is_owned()));
    /// });
    /// ```
    #[inline]
    pub fn is_owned(&self) -> bool {
        self.owner.load(Relaxed) == current_thread_id()
    }

    /// How many times the calling thread holds the lock; 0 if it does not hold it. Python:
    /// `rlock._recursion_count()`.
    ///
    /// ```
    /// let r = threadkit::RLock::new();
    /// r.acquire();
    /// r.acquire();
    /// assert_eq!(r.recursion_count(), 2);
    /// ```
    #[inline]
    pub fn recursion_count(&self) -> usize {
        if self.is_owned() {
            self.count.load(Relaxed) as usize
        } else {
            0
        }
    }

    /// Blocks until the calling thread holds the lock (at once if it already does, one level
    /// deeper). Python: `rlock.acquire()`.
    ///
    /// # Panics
    ///
    /// If the calling thread already holds it `u32::MAX` times (Python: `OverflowError`).
    ///
    /// ```
    /// let r = threadkit::RLock::new();
    /// r.acquire();
    /// r.acquire(); // no deadlock
    /// assert_eq!(r.recursion_count(), 2);
    /// ```
    #[inline]
    pub fn acquire(&self) {
        let me = current_thread_id();
        if !self.reenter(me) {
            self.lock.acquire();
            self.own(me, 1);
        }
    }

    /// Acquires the lock if that needs no waiting. Python: `rlock.acquire(blocking=False)`.
    ///
    /// # Panics
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// ```
    /// let r = threadkit::RLock::new();
    /// assert!(r.try_acquire());
    /// assert!(r.try_acquire()); // the owner always can
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(!r.try_acquire()));
    /// });
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn try_acquire(&self) -> bool {
        let me = current_thread_id();
        self.reenter(me) || (self.lock.try_acquire() && self.own(me, 1))
    }

    /// Blocks for at most `timeout`; `false` when it passed. Zero behaves like
    /// [`try_acquire`](Self::try_acquire); more than [`TIMEOUT_MAX`](crate::TIMEOUT_MAX) waits
    /// without a timeout. Python: `rlock.acquire(timeout=t)`.
    ///
    /// # Panics
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = threadkit::RLock::new();
    /// assert!(r.acquire_timeout(Duration::from_millis(1)));
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(!r.acquire_timeout(Duration::from_millis(1))));
    /// });
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        let me = current_thread_id();
        self.reenter(me) || (self.lock.acquire_timeout(timeout) && self.own(me, 1))
    }

    /// Blocks until `deadline` at the latest; `false` when it passed.
    ///
    /// # Panics
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let r = threadkit::RLock::new();
    /// assert!(r.acquire_until(Instant::now() + Duration::from_millis(1)));
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_until(&self, deadline: Instant) -> bool {
        let me = current_thread_id();
        self.reenter(me) || (self.lock.acquire_until(deadline) && self.own(me, 1))
    }

    /// Releases one level; the last one frees the lock for other threads. Python:
    /// `rlock.release()`. A thread that does not hold it gets [`Error::NotOwner`] and nothing
    /// changes.
    ///
    /// ```
    /// use threadkit::{Error, RLock};
    /// let r = RLock::new();
    /// assert!(matches!(r.release(), Err(Error::NotOwner)));
    /// r.acquire();
    /// r.release().unwrap();
    /// assert!(!r.locked());
    /// ```
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let count = self.count.load(Relaxed);
        if count > 1 {
            // Transition: owned at count n + 1 -> owned at count n.
            self.count.store(count - 1, Relaxed);
        } else {
            self.disown();
        }
        Ok(())
    }

    /// One more level for the owner; `false` if `me` does not own the lock.
    #[inline]
    fn reenter(&self, me: u64) -> bool {
        if self.owner.load(Relaxed) != me {
            return false;
        }
        let count = self.count.load(Relaxed);
        assert!(count != u32::MAX, "RLock recursion count overflowed");
        // Transition: owned at count n -> owned at count n + 1 (a plain store: only we write).
        self.count.store(count + 1, Relaxed);
        true
    }

    /// Records `me` as the owner at `count` levels, right after taking `lock`. Returns `true`.
    #[inline]
    fn own(&self, me: u64, count: u32) -> bool {
        // Transition: unowned -> owned by me (we hold `lock`).
        self.count.store(count, Relaxed);
        self.owner.store(me, Relaxed);
        true
    }

    /// Clears the owner and frees `lock`; the caller owns the `RLock`.
    #[inline]
    fn disown(&self) {
        // Transition: owned -> unowned, then free the lock (its Release orders our stores).
        self.count.store(0, Relaxed);
        self.owner.store(0, Relaxed);
        // Cannot fail: we hold `lock`, and nothing else may release it while we own the RLock.
        let _ = self.lock.release();
    }

    /// The underlying [`Lock`], for `Condition`.
    pub(crate) fn raw(&self) -> &Lock {
        &self.lock
    }

    /// Releases the lock completely and returns the recursion level it had, for a
    /// `Condition` wait. [`Error::NotOwner`] (nothing changed) if the caller does not own it.
    pub(crate) fn release_save(&self) -> Result<usize, Error> {
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let count = self.count.load(Relaxed);
        self.disown();
        Ok(count as usize)
    }

    /// Blocks until the caller owns the lock again, at level `count` (from
    /// [`release_save`](Self::release_save)).
    pub(crate) fn acquire_restore(&self, count: usize) {
        self.lock.acquire();
        self.own(current_thread_id(), Self::level(count));
    }

    /// Like [`acquire_restore`](Self::acquire_restore), for a waiter already counted on the
    /// underlying lock by `Lock::add_waiter` (it acquires through `Lock::lock_counted`).
    pub(crate) fn acquire_restore_counted(&self, count: usize) {
        self.lock.lock_counted();
        self.own(current_thread_id(), Self::level(count));
    }

    /// A saved recursion level as stored (`release_save` only hands out `1..=u32::MAX`).
    #[inline]
    fn level(count: usize) -> u32 {
        debug_assert!(count >= 1 && count <= u32::MAX as usize);
        u32::try_from(count).unwrap_or(u32::MAX).max(1)
    }
}

crate::acquire::impl_acquire!(RLock, "threadkit::RLock::new()");

impl Default for RLock {
    /// An unowned reentrant lock, like Python's `RLock()`.
    ///
    /// ```
    /// assert!(!threadkit::RLock::default().locked());
    /// ```
    fn default() -> Self {
        RLock::new()
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner = self.owner.load(Relaxed);
        f.debug_struct("RLock")
            .field("locked", &self.locked())
            .field("owner", &(owner != 0).then_some(owner))
            .field("count", &self.count.load(Relaxed))
            .finish()
    }
}

#[cfg(all(test, not(threadkit_loom)))]
mod tests {
    use super::*;

    #[test]
    fn release_save_and_restore() {
        let r = RLock::new();
        assert!(matches!(r.release_save(), Err(Error::NotOwner)));
        r.acquire();
        r.acquire();
        r.acquire();
        assert_eq!(r.release_save().unwrap(), 3);
        assert!(!r.locked() && !r.is_owned());
        assert!(matches!(r.release_save(), Err(Error::NotOwner)));
        r.acquire_restore(3);
        assert_eq!(r.recursion_count(), 3);
        assert!(r.raw().locked());
        // Another thread cannot save it.
        std::thread::scope(|s| {
            s.spawn(|| assert!(matches!(r.release_save(), Err(Error::NotOwner))));
        });
        assert_eq!(r.release_save().unwrap(), 3);
        assert!(r.raw().add_waiter());
        r.acquire_restore_counted(2);
        assert_eq!(r.recursion_count(), 2);
        r.release().unwrap();
        r.release().unwrap();
        assert!(!r.locked());
    }
}
