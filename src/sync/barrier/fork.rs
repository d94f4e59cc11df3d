//! [`Barrier`] after `fork()`: the check every public method makes first (see "After
//! `fork()`" in `mod.rs`).

use super::{BROKEN, Barrier, COUNT_MASK, GEN_MASK, PARTIES_MASK, SPUN, next_round, phase};
use crate::rt::{is_current_generation, renew_after_fork};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Where the fork stamp starts in the parties word (the renewal flag is the bit below).
const FORK_SHIFT: u32 = 25;
const _: () = assert!(PARTIES_MASK < 1 << (FORK_SHIFT - 1));

impl Barrier {
    /// In a fork child, the first call discards the parties that vanished with the parent's
    /// other threads (see "After `fork()`"); otherwise a load and a compare.
    #[inline]
    pub(super) fn check_fork_epoch(&self) {
        if !is_current_generation(&self.parties, FORK_SHIFT) {
            renew_after_fork(&self.parties, FORK_SHIFT, PARTIES_MASK, || {
                // Every thread in `wait` vanished: the round is as if they had never come.
                // A broken barrier stays broken (until `reset`); a round they were filling,
                // releasing or resetting is over. Their sleepers are dropped with `SLEEPERS`.
                let s = self.state.load(Acquire);
                let next = if phase(s) == BROKEN {
                    s & !COUNT_MASK
                } else {
                    next_round(s)
                };
                self.state.store(next, Release);
                let g = self.generation.load(Relaxed);
                self.generation.store(
                    ((g & GEN_MASK).wrapping_add(1) & GEN_MASK) | (g & SPUN),
                    Release,
                );
            });
        }
    }
}
