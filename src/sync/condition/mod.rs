//! [`Condition`]: Python's `threading.Condition`, a FIFO of stack nodes over a user lock.
//!
//! # Design
//!
//! A `Condition` is a [`WaitQueue`](crate::sync::waitqueue) that holds the user's lock `L` (its own
//! guard, an intrusive FIFO of waiter nodes, each with its own futex word, and `L` packed beside
//! them; see `waitqueue/mod.rs` for the layout, node states, diagram and memory ordering).
//!
//! ```text
//!  wait:   held? --no--> Err(NotOwner), nothing changed
//!            | yes
//!          link node (FIFO tail) -> release L fully (RLock: saving its level)
//!            -> spin, then sleep on the node word
//!               |- notified: acquire L (as a counted waiter if the notifier requeued us
//!               |            onto L's futex), restore level, pass our token on if we
//!               |            hold one -> Ok(true)
//!               '- deadline: under the queue lock, still waiting? unlink -> acquire L
//!                            -> Ok(false); notified meanwhile? -> acquire L -> Ok(true)
//!  notify(n): held? --no--> Err(NotOwner)
//!            | yes: under the queue lock, for each of the n oldest unnotified nodes:
//!              while fewer than the window (3 per CPU, <= 16) hold a token: unlink; still
//!              spinning? WOKEN (no system call); asleep? L.add_waiter(), requeue onto L's
//!              futex; it gets a token if more follow. The others: CHAINED (notified, each
//!              woken by a token holder as that one gets back into the lock)
//! ```
//!
//! Properties: `notify(n)` wakes exactly the `n` oldest waiters; notified waiters never all
//! wake at once to block on the lock again (at most a small window of them is on its way back
//! into the lock at a time: moved onto the lock's futex with `FUTEX_CMP_REQUEUE` on Linux, or
//! woken once elsewhere; each later one is woken by one before it, when the lock is free or
//! once that one holds it); a notification is never spent on a waiter that then reports a
//! timeout; `wait` never returns spuriously. "Held" means owned by the caller for an `RLock`
//! and locked by anybody for a `Lock`, as in Python.

use crate::rt::{deadline_after, passed};
use crate::sync::waitqueue::{Order, WaitQueue, Woken};
use crate::{Error, Lock, RLock};
use std::fmt;
use std::time::{Duration, Instant};

mod acquire;
mod lock;

pub use lock::ConditionLock;
use lock::LockRef;

/// Python's `threading.Condition`: a lock plus a FIFO of waiters that another thread can wake.
///
#[doc = include_str!("which_type.md")]
///
/// The default lock is an [`RLock`], as in Python; [`Condition::with_lock`] takes a [`Lock`],
/// an `RLock`, or a reference or `Arc` to either. `wait*` never returns spuriously: `Ok(())` or
/// `Ok(true)` means this waiter was notified.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use threadkit::{spawn, Condition};
/// let cond = Arc::new(Condition::new()); // Python: threading.Condition()
/// let ready = Arc::new(AtomicBool::new(false));
/// let (c, r) = (Arc::clone(&cond), Arc::clone(&ready));
/// let waiter = spawn(move || {
///     let _g = c.guard(); // with cond:
///     c.wait_for(|| r.load(Ordering::Relaxed)).unwrap();
/// });
/// {
///     let _g = cond.guard();
///     ready.store(true, Ordering::Relaxed);
///     cond.notify_all().unwrap();
/// }
/// waiter.join().unwrap();
/// ```
pub struct Condition<L: ConditionLock = RLock> {
    /// The waiters, and `L` in `queue.lock`, packed beside the queue's word (16 bytes for a Lock).
    queue: WaitQueue<L>,
}

impl Condition<RLock> {
    crate::rt::loom_const_fn! {
        /// A condition on a fresh [`RLock`]. Python: `threading.Condition()`.
        ///
        /// ```
        /// static COND: threadkit::Condition = threadkit::Condition::new();
        /// assert!(!COND.lock().locked());
        /// ```
        pub fn new() -> Self {
            Condition { queue: WaitQueue::new(RLock::new()) }
        }
    }
}

impl Default for Condition<RLock> {
    fn default() -> Self {
        Condition::new()
    }
}

impl<L: ConditionLock> Condition<L> {
    /// A condition on `lock`. Python: `threading.Condition(lock)`.
    ///
    /// ```
    /// use threadkit::{Condition, Lock};
    /// static LOCK: Lock = Lock::new();
    /// let c = Condition::with_lock(&LOCK);
    /// assert!(!c.lock().locked());
    /// ```
    #[cfg(not(threadkit_loom))]
    pub const fn with_lock(lock: L) -> Self {
        Condition {
            queue: WaitQueue::new(lock),
        }
    }

    /// A condition on `lock` (loom build: not `const`).
    #[cfg(threadkit_loom)]
    pub fn with_lock(lock: L) -> Self {
        Condition {
            queue: WaitQueue::new(lock),
        }
    }

    /// The lock this condition uses.
    ///
    /// ```
    /// let c = threadkit::Condition::new();
    /// assert!(!c.lock().is_owned());
    /// ```
    pub fn lock(&self) -> &L {
        &self.queue.lock
    }

    #[inline]
    fn held(&self) -> bool {
        match self.queue.lock.lock_ref() {
            LockRef::Plain(l) => l.locked(),
            LockRef::Reentrant(r) => r.is_owned(),
        }
    }

    #[inline]
    fn raw(&self) -> &Lock {
        match self.queue.lock.lock_ref() {
            LockRef::Plain(l) => l,
            LockRef::Reentrant(r) => r.raw(),
        }
    }

    /// Waits until notified. Releases the lock while waiting (fully, for an `RLock` held
    /// recursively) and holds it again, at the same level, on return.
    /// [`Error::NotOwner`] if the lock is not held. Python: `cond.wait()`.
    ///
    /// ```
    /// let c = threadkit::Condition::new();
    /// assert!(matches!(c.wait(), Err(threadkit::Error::NotOwner)));
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.wait_deadline(None).map(|_| ())
    }

    /// Waits until notified or until `timeout` passed: `Ok(false)` on timeout.
    /// Python: `cond.wait(timeout)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use threadkit::Acquire;
    /// let c = threadkit::Condition::new();
    /// let _g = c.guard();
    /// assert!(!c.wait_timeout(Duration::from_millis(1)).unwrap());
    /// ```
    #[must_use = "false means the wait timed out"]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.wait_deadline(deadline_after(timeout))
    }

    /// Waits until notified or until `deadline`: `Ok(false)` when it passed.
    ///
    /// ```
    /// use std::time::Instant;
    /// use threadkit::Acquire;
    /// let c = threadkit::Condition::new();
    /// let _g = c.guard();
    /// assert!(!c.wait_until(Instant::now()).unwrap());
    /// ```
    #[must_use = "false means the wait timed out"]
    pub fn wait_until(&self, deadline: Instant) -> Result<bool, Error> {
        self.wait_deadline(Some(deadline))
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> Result<bool, Error> {
        if !self.held() {
            return Err(Error::NotOwner);
        }
        let lock = self.queue.lock.lock_ref();
        let raw = self.raw();
        let saved = core::cell::Cell::new(0);
        let release = || match lock {
            LockRef::Plain(l) => l.release().is_ok(),
            LockRef::Reentrant(r) => match r.release_save() {
                Ok(level) => {
                    saved.set(level);
                    true
                }
                Err(_) => false,
            },
        };
        let reacquire = |counted: bool| match lock {
            LockRef::Plain(l) if counted => l.lock_counted(),
            LockRef::Plain(l) => l.acquire(),
            // (`saved` is 0 only if `release_save` failed, which cannot happen for an RLock
            // the caller owns; restore at least level 1 regardless.)
            LockRef::Reentrant(r) if counted => r.acquire_restore_counted(saved.get().max(1)),
            LockRef::Reentrant(r) => r.acquire_restore(saved.get().max(1)),
        };
        match self
            .queue
            .wait(raw, deadline, release, reacquire, Order::Fifo)
        {
            Some(Woken::Notified | Woken::NotifiedUncounted) => Ok(true),
            Some(Woken::TimedOut) => Ok(false),
            // The lock was released behind our back between the check and the wait.
            None => Err(Error::NotOwner),
        }
    }

    /// Waits until `predicate` returns true, re-checking it after each notification.
    /// Python: `cond.wait_for(predicate)`.
    ///
    /// ```
    /// use threadkit::Acquire;
    /// let c = threadkit::Condition::new();
    /// let _g = c.guard();
    /// c.wait_for(|| true).unwrap(); // already true: returns at once
    /// ```
    pub fn wait_for(&self, mut predicate: impl FnMut() -> bool) -> Result<(), Error> {
        while !predicate() {
            self.wait()?;
        }
        Ok(())
    }

    /// Like [`wait_for`](Condition::wait_for) with a timeout over all the waits; returns the
    /// predicate's last value. Python: `cond.wait_for(predicate, timeout)`.
    ///
    /// As in CPython, a false predicate is always followed by at least one wait, even when
    /// `timeout` is zero: the lock is released (letting other threads in) and taken again
    /// before the predicate is checked a second time. Later waits only happen while time is
    /// left. [`Error::NotOwner`] if the lock is not held (only checked when a wait is needed,
    /// as in CPython).
    ///
    /// ```
    /// use std::time::Duration;
    /// use threadkit::Acquire;
    /// let c = threadkit::Condition::new();
    /// let _g = c.guard();
    /// assert!(!c.wait_for_timeout(|| false, Duration::from_millis(1)).unwrap());
    /// ```
    #[must_use = "false means the wait timed out"]
    pub fn wait_for_timeout(
        &self,
        mut predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<bool, Error> {
        if predicate() {
            return Ok(true);
        }
        // CPython: `endtime = _time() + waittime` after the first check of the predicate.
        let deadline = deadline_after(timeout);
        loop {
            // The first wait happens whatever the time left (CPython's `wait(0)`); a deadline
            // that has passed makes it release and reacquire the lock and report a timeout.
            if !self.wait_deadline(deadline)? {
                return Ok(predicate());
            }
            if predicate() {
                return Ok(true);
            }
            if deadline.is_some_and(passed) {
                return Ok(false);
            }
        }
    }

    /// Wakes the `n` oldest waiters (fewer if fewer wait; `n == 0` does nothing).
    /// [`Error::NotOwner`] if the lock is not held. Python: `cond.notify(n)`.
    ///
    /// ```
    /// use threadkit::Acquire;
    /// let c = threadkit::Condition::new();
    /// assert!(c.notify(1).is_err()); // not held
    /// let _g = c.guard();
    /// c.notify(1).unwrap(); // nobody waits: nothing happens
    /// ```
    pub fn notify(&self, n: usize) -> Result<(), Error> {
        if !self.held() {
            return Err(Error::NotOwner);
        }
        self.queue.notify(n, Some(self.raw()));
        Ok(())
    }

    /// Wakes every waiter. Python: `cond.notify_all()`.
    ///
    /// ```
    /// use threadkit::Acquire;
    /// let c = threadkit::Condition::new();
    /// let _g = c.guard();
    /// c.notify_all().unwrap();
    /// ```
    pub fn notify_all(&self) -> Result<(), Error> {
        self.notify(usize::MAX)
    }
}

impl<L: ConditionLock + fmt::Debug> fmt::Debug for Condition<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.queue.lock)
            .field("has_waiters", &!self.queue.is_empty())
            .finish()
    }
}

#[cfg(all(test, threadkit_loom))]
mod loom_tests;

#[cfg(all(test, not(threadkit_loom)))]
mod tests;
