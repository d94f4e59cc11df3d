//! The thread layer's internal locks ([`InternalLock`], [`Locked`]: the locks behind the
//! registry, the thread names, the hook slots and the `Local` index tables); their view of the
//! seam is `crate::rt::os`. The fork handlers that take these locks before a `fork()` and reset
//! them in the child are in `fork.rs`.

use super::fork::ensure_fork_handlers;
use core::cell::UnsafeCell;

/// The lock behind the thread layer's globals (registry, hook slots, `Local` tables):
/// threadkit's own [`Lock`](crate::Lock). Under loom (whose `Lock::new` is not `const`) a
/// copy of the same three-state futex lock on real atomics stands in.
#[cfg(not(threadkit_loom))]
type GlobalLock = crate::Lock;
#[cfg(threadkit_loom)]
type GlobalLock = loom_lock::SmallLock;

/// Releases a held [`GlobalLock`] on drop (also when unwinding).
struct Unlock<'a>(&'a GlobalLock);

impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        // Cannot fail: this guard holds the lock.
        let _ = self.0.release();
    }
}

#[cfg(threadkit_loom)]
mod loom_lock {
    use crate::rt::os::{AtomicU32, wait, wake_all};
    use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

    /// 0 unlocked, 1 locked, 2 locked with maybe waiters (the same protocol as `Lock`).
    pub(crate) struct SmallLock(AtomicU32);

    impl SmallLock {
        pub(crate) const fn new() -> Self {
            SmallLock(AtomicU32::new(0))
        }
        pub(crate) fn acquire(&self) {
            // Transition 0 -> 1 (locked, no waiter).
            if self.0.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
                // Transition any -> 2; owned when the old state was 0.
                while self.0.swap(2, Acquire) != 0 {
                    wait(&self.0, 2, None);
                }
            }
        }
        pub(crate) fn release(&self) -> Result<(), crate::Error> {
            // Transition 1|2 -> 0; a 2 may have sleepers.
            if self.0.swap(0, Release) == 2 {
                wake_all(&self.0);
            }
            Ok(())
        }
    }
}

/// One of the thread layer's internal locks. Each guards a short critical section that runs
/// no user code, and no two are ever held together, so the fork handlers can take them all (in
/// the fixed order of `fork_locks`, in [`fork`](super::fork)) and the child can reset them.
pub(crate) struct InternalLock(UnsafeCell<GlobalLock>);

// SAFETY: the lock is only used through `&GlobalLock` (a futex lock, `Sync` itself), except in
// `reset_in_child`, whose contract excludes every other use.
unsafe impl Sync for InternalLock {}

impl InternalLock {
    pub(crate) const fn new() -> Self {
        InternalLock(UnsafeCell::new(GlobalLock::new()))
    }

    #[inline]
    pub(super) fn get(&self) -> &GlobalLock {
        // SAFETY: the cell is only written by `reset_in_child`, when no reference exists.
        unsafe { &*self.0.get() }
    }

    /// Runs `f` with the lock held (released on unwind too). `f` must not call user code.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        ensure_fork_handlers();
        self.get().acquire();
        let _held = Unlock(self.get());
        f()
    }

    /// # Safety
    /// Only in the child of a `fork`, on a lock the calling thread (the child's only thread)
    /// took in the prepare handler: no other reference to it is in use.
    pub(super) unsafe fn reset_in_child(&self) {
        // SAFETY: per the contract nobody else uses the lock; whatever waiter counts the word
        // holds belong to threads that do not exist in this process, so a fresh unlocked
        // lock replaces it (releasing it could hand it over to one of those ghosts).
        unsafe { self.0.get().write(GlobalLock::new()) };
    }
}

/// A value guarded by an [`InternalLock`].
pub(crate) struct Locked<T> {
    lock: InternalLock,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which holds the lock, so at most one
// thread touches it at a time; `T: Send` lets it be touched from any thread.
unsafe impl<T: Send> Sync for Locked<T> {}

impl<T> Locked<T> {
    pub(crate) const fn new(value: T) -> Self {
        Locked {
            lock: InternalLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` on the value with the lock held. `f` must not call user code.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: the lock is held for the whole borrow, so this is the only reference.
            f(unsafe { &mut *self.value.get() })
        })
    }

    /// The lock, for the fork handlers.
    pub(crate) fn lock(&self) -> &InternalLock {
        &self.lock
    }
}
