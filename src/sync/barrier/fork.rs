//! [`Barrier`] after `fork()`: the check every public method makes first (see "After
//! `fork()`" in `mod.rs`).

use super::{BROKEN, Barrier, FILLING, GEN_MASK, SPUN, is_broken, make};
use crate::rt::{is_current_generation, renew_after_fork};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

impl Barrier {
    /// In a fork child, the first call discards the parties that vanished with the parent's
    /// other threads (see "After `fork()`"); otherwise a load and a compare.
    #[inline]
    pub(super) fn check_fork_epoch(&self) {
        if !is_current_generation(&self.fork_epoch, 1) {
            renew_after_fork(&self.fork_epoch, 1, 0, || {
                // Every thread in `wait` vanished: the round is as if they had never come.
                // A broken barrier stays broken (until `reset`); a round they were releasing,
                // draining or resetting is over. Their sleepers are dropped with `SLEEPERS`.
                let s = self.state.load(Acquire);
                let next = if is_broken(s) { BROKEN } else { FILLING };
                self.state.store(make(next, 0), Release);
                let g = self.generation.load(Relaxed);
                self.generation.store(
                    ((g & GEN_MASK).wrapping_add(1) & GEN_MASK) | (g & SPUN),
                    Release,
                );
            });
        }
    }
}
