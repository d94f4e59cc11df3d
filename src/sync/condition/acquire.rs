//! The `Condition`'s own lock methods: `acquire`, `release` and the rest, each passed to the
//! lock the condition holds (a part of `condition/mod.rs`), and the [`Acquire`] trait.

use super::Condition;
use super::lock::{ConditionLock, LockRef};
use crate::{Acquire, Error};
use std::time::{Duration, Instant};

impl<L: ConditionLock> Condition<L> {
    /// Acquires the underlying lock. Python: `cond.acquire()`.
    ///
    /// ```
    /// let c = threadkit::Condition::new();
    /// c.acquire();
    /// assert!(c.lock().is_owned());
    /// c.release().unwrap();
    /// ```
    #[inline]
    pub fn acquire(&self) {
        match self.queue.lock.lock_ref() {
            LockRef::Plain(l) => l.acquire(),
            LockRef::Reentrant(r) => r.acquire(),
        }
    }

    /// Acquires the underlying lock if possible without blocking.
    /// Python: `cond.acquire(blocking=False)`.
    ///
    /// ```
    /// let c = threadkit::Condition::with_lock(threadkit::Lock::new());
    /// assert!(c.try_acquire());
    /// assert!(!c.try_acquire());
    /// ```
    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn try_acquire(&self) -> bool {
        match self.queue.lock.lock_ref() {
            LockRef::Plain(l) => l.try_acquire(),
            LockRef::Reentrant(r) => r.try_acquire(),
        }
    }

    /// Acquires the underlying lock, waiting at most `timeout`. Python: `cond.acquire(timeout=t)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = threadkit::Condition::new();
    /// assert!(c.acquire_timeout(Duration::from_millis(1)));
    /// ```
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        match self.queue.lock.lock_ref() {
            LockRef::Plain(l) => l.acquire_timeout(timeout),
            LockRef::Reentrant(r) => r.acquire_timeout(timeout),
        }
    }

    /// Acquires the underlying lock, waiting until `deadline` at the latest.
    ///
    /// ```
    /// let c = threadkit::Condition::new();
    /// assert!(c.acquire_until(std::time::Instant::now()));
    /// ```
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub fn acquire_until(&self, deadline: Instant) -> bool {
        match self.queue.lock.lock_ref() {
            LockRef::Plain(l) => l.acquire_until(deadline),
            LockRef::Reentrant(r) => r.acquire_until(deadline),
        }
    }

    /// Releases the underlying lock once. Python: `cond.release()`.
    ///
    /// ```
    /// let c = threadkit::Condition::new();
    /// assert!(c.release().is_err()); // not held
    /// ```
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        match self.queue.lock.lock_ref() {
            LockRef::Plain(l) => l.release(),
            LockRef::Reentrant(r) => r.release(),
        }
    }
}

impl<L: ConditionLock> Condition<L> {
    crate::acquire::guard_methods!("threadkit::Condition::new()");
}

impl<L: ConditionLock> Acquire for Condition<L> {
    #[inline]
    fn acquire(&self) {
        Condition::acquire(self)
    }
    #[inline]
    fn try_acquire(&self) -> bool {
        Condition::try_acquire(self)
    }
    fn acquire_timeout(&self, timeout: Duration) -> bool {
        Condition::acquire_timeout(self, timeout)
    }
    fn acquire_until(&self, deadline: Instant) -> bool {
        Condition::acquire_until(self, deadline)
    }
    #[inline]
    fn release(&self) -> Result<(), Error> {
        Condition::release(self)
    }
}
