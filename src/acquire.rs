//! The acquire/release protocol shared by `Lock`, `RLock`, `Condition`, `Semaphore` and
//! `BoundedSemaphore`, and [`Guard`], Python's `with x:`.

use crate::Error;
use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// Python's acquire/release protocol, for generic code over threadkit's primitives.
///
/// ```
/// use threadkit::{Acquire, Lock, Semaphore};
/// fn critical<A: Acquire>(a: &A) -> u32 {
///     let _g = a.guard(); // Python: `with a:`
///     42
/// }
/// assert_eq!(critical(&Lock::new()), 42);
/// assert_eq!(critical(&Semaphore::new(1)), 42);
/// ```
pub trait Acquire {
    /// Blocks until acquired. Python: `acquire()`.
    fn acquire(&self);
    /// Acquires if that is possible without blocking. Python: `acquire(blocking=False)`.
    #[must_use = "if it returned true the primitive is held and must be released"]
    fn try_acquire(&self) -> bool;
    /// Blocks for at most `timeout`; `false` when it passed. Zero behaves like
    /// [`try_acquire`](Acquire::try_acquire); more than [`TIMEOUT_MAX`](crate::TIMEOUT_MAX)
    /// waits without a timeout. Python: `acquire(timeout=t)`.
    #[must_use = "if it returned true the primitive is held and must be released"]
    fn acquire_timeout(&self, timeout: Duration) -> bool;
    /// Blocks until `deadline` at the latest; `false` when it passed.
    #[must_use = "if it returned true the primitive is held and must be released"]
    fn acquire_until(&self, deadline: Instant) -> bool;
    /// Releases once. Python: `release()`.
    fn release(&self) -> Result<(), Error>;
    /// Acquires and returns a guard that releases on drop. Python: `with x:`.
    fn guard(&self) -> Guard<'_, Self>
    where
        Self: Sized,
    {
        self.acquire();
        Guard::held(self)
    }
    /// A guard if the primitive can be acquired without blocking, else `None`.
    /// Python: `if x.acquire(blocking=False):` + `try/finally: x.release()`.
    fn try_guard(&self) -> Option<Guard<'_, Self>>
    where
        Self: Sized,
    {
        self.try_acquire().then(|| Guard::held(self))
    }
    /// A guard if the primitive is acquired within `timeout`, else `None` (timed out).
    fn guard_timeout(&self, timeout: Duration) -> Option<Guard<'_, Self>>
    where
        Self: Sized,
    {
        self.acquire_timeout(timeout).then(|| Guard::held(self))
    }
    /// A guard if the primitive is acquired by `deadline`, else `None` (timed out).
    fn guard_until(&self, deadline: Instant) -> Option<Guard<'_, Self>>
    where
        Self: Sized,
    {
        self.acquire_until(deadline).then(|| Guard::held(self))
    }
}

/// Holds an [`Acquire`] primitive from creation to drop: Python's `with x:` block.
///
/// ```
/// use threadkit::{Acquire, Lock};
/// let lock = Lock::new();
/// {
///     let _g = lock.guard();
///     assert!(lock.locked());
/// }
/// assert!(!lock.locked());
/// ```
#[must_use = "the primitive is released as soon as the guard is dropped"]
pub struct Guard<'a, A: Acquire> {
    inner: &'a A,
    // Released on the thread that acquired it (an RLock must be).
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared `&Guard` only exposes `&A`, which is `Sync` when `A` is.
unsafe impl<A: Acquire + Sync> Sync for Guard<'_, A> {}

impl<'a, A: Acquire> Guard<'a, A> {
    /// Wraps a primitive the caller has just acquired.
    #[inline]
    pub(crate) fn held(inner: &'a A) -> Self {
        Guard {
            inner,
            _not_send: PhantomData,
        }
    }

    /// The primitive this guard holds.
    pub fn get(&self) -> &A {
        self.inner
    }
}

impl<A: Acquire> Drop for Guard<'_, A> {
    fn drop(&mut self) {
        // A release can only fail here if user code released the primitive behind the
        // guard's back; the primitive is then already in the state the guard would leave.
        let _ = self.inner.release();
    }
}

impl<A: Acquire + fmt::Debug> fmt::Debug for Guard<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").field("inner", self.inner).finish()
    }
}

/// Implements [`Acquire`] for a type whose inherent methods have the same names.
/// Also adds the inherent guard methods ([`guard_methods`]); `$new` is a doc-example constructor.
macro_rules! impl_acquire {
    ($ty:ty, $new:literal) => {
        impl $ty {
            $crate::acquire::guard_methods!($new);
        }

        impl $crate::Acquire for $ty {
            #[inline]
            fn acquire(&self) {
                <$ty>::acquire(self)
            }
            #[inline]
            fn try_acquire(&self) -> bool {
                <$ty>::try_acquire(self)
            }
            #[inline]
            fn acquire_timeout(&self, timeout: ::std::time::Duration) -> bool {
                <$ty>::acquire_timeout(self, timeout)
            }
            #[inline]
            fn acquire_until(&self, deadline: ::std::time::Instant) -> bool {
                <$ty>::acquire_until(self, deadline)
            }
            #[inline]
            fn release(&self) -> Result<(), $crate::Error> {
                <$ty>::release(self)
            }
        }
    };
}
pub(crate) use impl_acquire;

/// The inherent `guard`, `try_guard`, `guard_timeout` and `guard_until` of a type that
/// implements [`Acquire`], so that `x.guard()` compiles without importing the trait.
/// Invoked inside the type's inherent `impl` block; `$new` is a doc-example constructor.
macro_rules! guard_methods {
    ($new:literal) => {
        /// Acquires and returns a guard that releases on drop. Python: `with x:`.
        ///
        #[doc = concat!("```\nlet x = ", $new, ";\n{\n    let _g = x.guard(); // held until the end of the block\n}\nassert!(x.try_acquire());\nx.release().unwrap();\n```")]
        #[inline]
        pub fn guard(&self) -> $crate::Guard<'_, Self> {
            $crate::Acquire::guard(self)
        }

        /// A guard if the primitive can be acquired without blocking, else `None`.
        /// Python: `if x.acquire(blocking=False):`.
        ///
        #[doc = concat!("```\nlet x = ", $new, ";\nlet g = x.try_guard();\nassert!(g.is_some());\n```")]
        #[inline]
        pub fn try_guard(&self) -> Option<$crate::Guard<'_, Self>> {
            $crate::Acquire::try_guard(self)
        }

        /// A guard if the primitive is acquired within `timeout`, else `None` (timed out).
        /// Python: `if x.acquire(timeout=t):`.
        ///
        #[doc = concat!("```\nlet x = ", $new, ";\nassert!(x.guard_timeout(std::time::Duration::from_millis(1)).is_some());\n```")]
        #[inline]
        pub fn guard_timeout(&self, timeout: ::std::time::Duration) -> Option<$crate::Guard<'_, Self>> {
            $crate::Acquire::guard_timeout(self, timeout)
        }

        /// A guard if the primitive is acquired by `deadline`, else `None` (timed out).
        ///
        #[doc = concat!("```\nlet x = ", $new, ";\nassert!(x.guard_until(std::time::Instant::now()).is_some());\n```")]
        #[inline]
        pub fn guard_until(&self, deadline: ::std::time::Instant) -> Option<$crate::Guard<'_, Self>> {
            $crate::Acquire::guard_until(self, deadline)
        }
    };
}
pub(crate) use guard_methods;
