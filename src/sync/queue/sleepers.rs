//! [`Sleepers`]: an event count for the ring queue's sleepers on one condition (an item
//! arrived, room appeared, all tasks done). Wakers make no system call unless someone counted
//! themselves as (about to be) asleep.
//!
//! | word    | bits                       | meaning                                            |
//! |---------|----------------------------|----------------------------------------------------|
//! | `count` | `0..GEN_SHIFT`             | threads counted as (about to be) asleep on `seq`   |
//! |         | `GEN_SHIFT..32`            | the fork generation (low bits) that counted them   |
//! | `seq`   | all                        | the futex word: bumped before every wake-up call   |
//!
//! ```text
//!  waiter: count += 1 (RMW) ; s = seq ; look at the condition again ─ true ─> count -= 1
//!                                           │ false
//!                                           └─> futex_wait(seq, s) ; count -= 1 ; look again
//!  waker:  make the condition true (an SC RMW on the ring) ; load count ─ 0 ─> done
//!                                                           │ > 0, this generation
//!                                                           └─> seq += 1 ; futex_wake(seq)
//! ```
//!
//! # Memory ordering
//!
//! A Dekker handshake between the waker's publication (the `SeqCst` RMW that makes the
//! condition true: a CAS on the ring's head or tail or done count) followed by its `SeqCst`
//! load of `count`, and the waiter's `SeqCst` RMW on `count` followed by its `SeqCst` loads of
//! the condition. In the single total order of `SeqCst` operations either the waker's load
//! comes after the waiter's RMW (it sees the count and wakes) or the waiter's loads come after
//! the publication (it sees the condition and does not sleep). Loom treats `SeqCst` accesses
//! as `AcqRel`, which is weaker than the language guarantees, so under the model each side
//! also makes a `SeqCst` fence between the two steps (`model_fence`), the form loom checks
//! exactly. A waiter that read `seq` before a waker's bump sleeps only if the futex still
//! reads that value, so a bump between its check and its sleep is never lost.
//!
//! After a `fork()` the child forgets the counts of the parent's vanished threads: a count
//! stamped with another generation counts nobody (wakers skip it, the next waiter restarts
//! it at 1).

use crate::rt::{AtomicU32, fork_generation, wait, wake_all, wake_one};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::Instant;

/// Where the fork generation starts in `count`.
const GEN_SHIFT: u32 = 20;
/// The sleeper count bits of `count`.
const COUNT: u32 = (1 << GEN_SHIFT) - 1;

/// The generation field for `count` in this process.
#[inline]
fn generation() -> u32 {
    fork_generation() & (u32::MAX >> GEN_SHIFT)
}

/// Under loom only, a `SeqCst` fence (see the module docs): what the model needs to see the
/// Dekker handshake that the `SeqCst` accesses make on their own.
#[inline(always)]
fn model_fence() {
    #[cfg(threadkit_loom)]
    crate::rt::fence(SeqCst);
}

/// Sleepers on one condition of a ring queue.
pub(super) struct Sleepers {
    /// Fork generation and sleeper count (see the module docs).
    count: AtomicU32,
    /// The futex word.
    seq: AtomicU32,
}

impl Sleepers {
    pub(super) fn new() -> Self {
        Sleepers {
            count: AtomicU32::new(0),
            seq: AtomicU32::new(0),
        }
    }

    /// Counts the caller as (about to be) asleep and returns the value to pass to
    /// [`sleep`](Self::sleep). The caller must look at its condition afterwards, and call
    /// [`sleep`](Self::sleep) (false) or [`cancel`](Self::cancel) (true).
    #[inline]
    pub(super) fn prepare(&self) -> u32 {
        let g = generation();
        let mut w = self.count.load(Relaxed);
        loop {
            // Transition: n sleepers -> n + 1 (a count of another generation restarts at 1).
            let new = if w >> GEN_SHIFT == g {
                w + 1
            } else {
                (g << GEN_SHIFT) | 1
            };
            match self.count.compare_exchange(w, new, SeqCst, Relaxed) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        model_fence();
        self.seq.load(SeqCst)
    }

    /// Sleeps while nobody has bumped `seq` since [`prepare`](Self::prepare) returned `s`
    /// (or until `deadline`), then uncounts the caller.
    #[inline]
    pub(super) fn sleep(&self, s: u32, deadline: Option<Instant>) {
        wait(&self.seq, s, deadline);
        self.cancel();
    }

    /// Uncounts a caller of [`prepare`](Self::prepare) that will not sleep.
    #[inline]
    pub(super) fn cancel(&self) {
        // Transition: n sleepers -> n - 1. Its own `prepare` made the generation this one,
        // and only a waiter of another generation resets it, so the count is at least 1.
        self.count.fetch_sub(1, Relaxed);
    }

    /// After the `SeqCst` publication that made the condition true: wakes one counted sleeper.
    #[inline]
    pub(super) fn notify_one(&self) {
        model_fence();
        let w = self.count.load(SeqCst);
        if w & COUNT != 0 {
            self.wake(w, false);
        }
    }

    /// As [`notify_one`](Self::notify_one), waking every counted sleeper.
    #[inline]
    pub(super) fn notify_all(&self) {
        model_fence();
        let w = self.count.load(SeqCst);
        if w & COUNT != 0 {
            self.wake(w, true);
        }
    }

    #[cold]
    fn wake(&self, w: u32, all: bool) {
        if w >> GEN_SHIFT != generation() {
            return; // counted by a parent's threads, which vanished in a fork
        }
        self.seq.fetch_add(1, SeqCst);
        if all {
            wake_all(&self.seq);
        } else {
            wake_one(&self.seq);
        }
    }
}
