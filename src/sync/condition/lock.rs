//! [`ConditionLock`]: the locks a [`Condition`](crate::Condition) can be built on ([`Lock`],
//! [`RLock`], a reference or an `Arc` to either), each seen by the condition as a `LockRef`.
//! A part of `condition/mod.rs`, which re-exports the trait.

use crate::{Lock, RLock};
use std::sync::Arc;

mod sealed {
    use crate::{Lock, RLock};

    /// The lock behind a `Condition`, seen as one of the two kinds it can be.
    #[doc(hidden)]
    #[derive(Clone, Copy)]
    pub enum LockRef<'a> {
        Plain(&'a Lock),
        Reentrant(&'a RLock),
    }

    pub trait Sealed {
        fn lock_ref(&self) -> LockRef<'_>;
    }
}
pub(super) use sealed::LockRef;

/// A lock a [`Condition`](crate::Condition) can be built on: [`Lock`], [`RLock`], a reference
/// to either, or an `Arc` of either (so several conditions can share one lock). Sealed.
///
/// ```
/// use std::sync::Arc;
/// use threadkit::{Condition, RLock};
/// let lock = Arc::new(RLock::new());
/// let a = Condition::with_lock(Arc::clone(&lock));
/// let b = Condition::with_lock(Arc::clone(&lock));
/// let _g = threadkit::Acquire::guard(&a);
/// assert!(b.lock().is_owned()); // both conditions share the lock
/// ```
pub trait ConditionLock: sealed::Sealed {}

macro_rules! condition_lock {
    ($kind:ident, $ty:ty, |$s:ident| $get:expr) => {
        impl sealed::Sealed for $ty {
            #[inline]
            fn lock_ref(&self) -> LockRef<'_> {
                let $s = self;
                LockRef::$kind($get)
            }
        }
        impl ConditionLock for $ty {}
    };
}
condition_lock!(Plain, Lock, |s| s);
condition_lock!(Reentrant, RLock, |s| s);
condition_lock!(Plain, &Lock, |s| s);
condition_lock!(Reentrant, &RLock, |s| s);
condition_lock!(Plain, Arc<Lock>, |s| s);
condition_lock!(Reentrant, Arc<RLock>, |s| s);
