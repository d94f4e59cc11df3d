//! The Rust data layer: [`Mutex<T>`] and [`MutexGuard`], `lock_api` types over [`Lock`].
//!
//! Python's primitives protect no data; Rust code wants the lock to own it. `Lock` implements
//! [`lock_api::RawMutex`] and [`lock_api::RawMutexTimed`], so `lock_api` builds the familiar
//! guard types on it. (Under `cfg(threadkit_loom)` the model's atomics have no `const` constructor, which
//! `RawMutex::INIT` needs, so the data layer is left out of loom builds; its algorithm is
//! `Lock`'s, which the loom models check.)

#[cfg(not(threadkit_loom))]
mod imp {
    use crate::Lock;
    use std::time::{Duration, Instant};

    /// A mutual-exclusion lock that owns its data, built on [`Lock`]: `lock_api::Mutex<Lock, T>`.
    ///
    /// ```
    /// use threadkit::Mutex;
    /// let m = Mutex::new(vec![1, 2]);
    /// m.lock().push(3);
    /// assert_eq!(*m.lock(), [1, 2, 3]);
    /// ```
    pub type Mutex<T> = lock_api::Mutex<Lock, T>;

    /// The guard of a [`Mutex`]: the data is accessible while it lives.
    ///
    /// ```
    /// let m = threadkit::Mutex::new(5);
    /// let mut g: threadkit::MutexGuard<'_, i32> = m.lock();
    /// *g += 1;
    /// assert_eq!(*g, 6);
    /// ```
    pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, Lock, T>;

    /// A guard for a part of a [`Mutex`]'s data (from `MutexGuard::map`).
    ///
    /// ```
    /// use threadkit::{Mutex, MutexGuard};
    /// let m = Mutex::new((1, 2));
    /// let second = MutexGuard::map(m.lock(), |pair| &mut pair.1);
    /// assert_eq!(*second, 2);
    /// ```
    pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, Lock, T>;

    // SAFETY: `Lock` is a mutual-exclusion lock: `lock`/`try_lock` return only once this thread
    // holds it, no two threads hold it at once, and `unlock` frees it. Releasing from another
    // thread is allowed by `Lock`, so `GuardSend` is sound.
    unsafe impl lock_api::RawMutex for Lock {
        #[allow(clippy::declare_interior_mutable_const)]
        const INIT: Lock = Lock::new();
        type GuardMarker = lock_api::GuardSend;

        #[inline]
        fn lock(&self) {
            self.acquire();
        }

        #[inline]
        fn try_lock(&self) -> bool {
            self.try_acquire()
        }

        #[inline]
        unsafe fn unlock(&self) {
            // The caller guarantees the lock is held, so this cannot fail.
            let _ = self.release();
        }

        #[inline]
        fn is_locked(&self) -> bool {
            self.locked()
        }
    }

    // SAFETY: `unlock_fair` frees the lock (or hands the hold to a counted waiter, whose
    // acquire then returns holding it): mutual exclusion is kept as by `unlock`.
    unsafe impl lock_api::RawMutexFair for Lock {
        /// Unlocks, handing the lock to a thread already waiting for it (the waiters counted
        /// before the call; the first to run claims it), so that the caller cannot take it
        /// back first; with nobody waiting, a plain unlock. `MutexGuard::unlock_fair` and
        /// `MutexGuard::bump` use it (lock_api's fair-unlock contract).
        ///
        /// ```
        /// let m = threadkit::Mutex::new(1);
        /// let g = m.lock();
        /// threadkit::MutexGuard::unlock_fair(g);
        /// assert!(m.try_lock().is_some()); // nobody was waiting: a plain unlock
        /// ```
        #[inline]
        unsafe fn unlock_fair(&self) {
            // The caller guarantees the lock is held, so this cannot fail.
            let _ = self.release_fair();
        }
    }

    // SAFETY: the timed forms only return `true` once the lock is held, as `lock` does.
    unsafe impl lock_api::RawMutexTimed for Lock {
        type Duration = Duration;
        type Instant = Instant;

        #[inline]
        fn try_lock_for(&self, timeout: Duration) -> bool {
            self.acquire_timeout(timeout)
        }

        #[inline]
        fn try_lock_until(&self, deadline: Instant) -> bool {
            self.acquire_until(deadline)
        }
    }
}
#[cfg(not(threadkit_loom))]
pub use imp::*;
