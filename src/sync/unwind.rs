//! Unwind safety, as std's primitives have it: a panic never leaves one of these in a state
//! that breaks its invariants, so they may cross `catch_unwind` freely. (The auto traits miss
//! them only because of their interior cells: the wait queue's node pointers, the barrier's
//! boxed action. The queue is only changed under its lock, by code that cannot panic
//! midway; a panicking barrier action breaks the barrier, which is a state it documents.)

use super::{Barrier, Condition, ConditionLock};
use std::panic::{RefUnwindSafe, UnwindSafe};

impl UnwindSafe for Barrier {}
impl RefUnwindSafe for Barrier {}
impl<L: ConditionLock> UnwindSafe for Condition<L> {}
impl<L: ConditionLock> RefUnwindSafe for Condition<L> {}
#[cfg(not(threadkit_loom))]
impl UnwindSafe for super::condvar::Condvar {}
#[cfg(not(threadkit_loom))]
impl RefUnwindSafe for super::condvar::Condvar {}
