//! [`Lock`]'s fair unlock (`lock_api::RawMutexFair::unlock_fair`, and so `MutexGuard::bump`):
//! the hand-over of `slow.rs` on request, without waiting for a waiter to starve. The state
//! word and its transitions are at the top of `lock/mod.rs`.

use super::fork::tidy;
use super::state::{is_handed, is_held, waiters};
use super::{HANDED, HANDOFF, Lock, WAKING};
use crate::rt as wait;
use core::sync::atomic::Ordering::{Relaxed, Release};

impl Lock {
    /// Unlocks, handing the lock over to the waiters counted before this call (one of them,
    /// the first to run, claims the hold: a thread that comes later, the caller included,
    /// cannot take it first). With no counted waiter, or on a lock already handed over, a
    /// plain unlock. `false` if the lock was not locked.
    #[cold]
    #[cfg_attr(threadkit_loom, allow(dead_code))] // its user, `Mutex<T>`, is not built under loom
    pub(crate) fn release_fair(&self) -> bool {
        let mut s = self.current_state();
        loop {
            if !is_held(s) {
                return false;
            }
            if is_handed(s) || waiters(s) == 0 {
                // Nobody to hand it to (a hand-over needs a counted waiter to claim it), or
                // the hold being released is itself a hand-over: the ordinary unlock.
                return self.release_slow();
            }
            // Transition: locked with counted waiters -> stays LOCKED, HANDED to them (as the
            // starvation hand-over of `release_slow`; a pending HANDOFF request is served).
            // Everybody is woken: a newcomer may sleep on the word among the counted waiters.
            let new = (s & !HANDOFF) | HANDED | WAKING;
            match self
                .state
                .compare_exchange_weak(s, tidy(new), Release, Relaxed)
            {
                Ok(_) => {
                    wait::wake_all(&self.state);
                    return true;
                }
                Err(now) => s = now,
            }
        }
    }
}
