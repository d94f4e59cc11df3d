//! `Lock` after `fork()`: the fork generation in the state word (see "After `fork()`" in
//! `mod.rs`): discarding the vanished threads' waiter state, and stamping new waiter state.

use super::state::{has_waiter_state, holds_for_handee, is_held};
use super::{GEN_MASK, GEN_SHIFT, LOCKED, Lock};
use crate::rt;
use core::sync::atomic::Ordering::Relaxed;

impl Lock {
    /// The state word, after discarding the waiter state of an older fork generation if it
    /// holds one (see "After `fork()`" in the module docs). Every slow path starts here.
    #[inline]
    pub(crate) fn current_state(&self) -> u32 {
        let s = self.state.load(Relaxed);
        if has_waiter_state(s) && s & GEN_MASK != generation_bits() {
            self.forget_vanished_waiters(s)
        } else {
            s
        }
    }

    /// In a fork child: replaces waiter state left by the parent's vanished threads by what the
    /// word would be had they never waited. Returns the new state.
    #[cold]
    fn forget_vanished_waiters(&self, mut s: u32) -> u32 {
        loop {
            if !has_waiter_state(s) || s & GEN_MASK == generation_bits() {
                return s; // another thread of the child did it
            }
            // A handed hold nobody claimed belonged to a vanished waiter: as if it had never
            // waited, that unlock freed the lock. Any other LOCKED is a real hold.
            let held = is_held(s) && !holds_for_handee(s);
            let new = if held { LOCKED } else { 0 };
            // Transition: ghost waiter state -> none (LOCKED kept if held).
            match self.state.compare_exchange(s, new, Relaxed, Relaxed) {
                Ok(_) => return new,
                Err(now) => s = now,
            }
        }
    }
}

/// The low bits of the fork generation, placed where the word keeps them.
#[inline]
pub(super) fn generation_bits() -> u32 {
    (rt::fork_generation() << GEN_SHIFT) & GEN_MASK
}

/// `v` with this process's generation in place (for a transition that adds waiter state).
#[inline]
pub(super) fn stamp(v: u32) -> u32 {
    (v & !GEN_MASK) | generation_bits()
}

/// `v`, with the generation cleared when it holds no waiter state, so that a word without
/// waiters is exactly `0` or `LOCKED` again (what the fast paths compare against).
#[inline]
pub(super) fn tidy(v: u32) -> u32 {
    if has_waiter_state(v) { v } else { v & LOCKED }
}
