//! [`WaitQueue`](super::WaitQueue) after `fork()`: the generation check every entry point
//! makes before it touches the guard or the list (see "After `fork()`" in `mod.rs`).

use super::{GEN_SHIFT, Queue, SPUN};
use crate::rt::{is_current_generation, renew_after_fork};
use std::ptr;

impl Queue<'_> {
    /// Makes sure that the guard, the list and the tokens belong to this process's fork
    /// generation, discarding what vanished threads left if not (see "After `fork()`").
    /// Every entry point calls it before touching the guard or the list.
    #[inline]
    pub(super) fn check_generation(self) {
        if !is_current_generation(self.flags, GEN_SHIFT) {
            // Only `SPUN` survives: the guard is free again and no token is out.
            renew_after_fork(self.flags, GEN_SHIFT, SPUN, || {
                // SAFETY: the renewal is ours: every other thread of this process waits in
                // `renew_after_fork` before it touches the guard or the list, and no thread of
                // this process is inside the queue (each checks the generation on its way in;
                // the vanished ones do not run). The list is dropped without reading a node:
                // they lay on the vanished threads' stacks.
                unsafe { self.head.with_mut(|h| *h = ptr::null()) };
            });
        }
    }
}
