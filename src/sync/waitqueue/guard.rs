//! The guard of [`WaitQueue`](super::WaitQueue): the queue's own lock, bits `GUARD` and
//! `CONTENDED` of `flags` (the bits are tabled in "The layout" in `mod.rs`).
//!
//! The guard is a futex lock in the manner of Drepper's "mutex 3": taking it sets `GUARD` with
//! an `Acquire` RMW (a short bounded spin first if it is held and nobody sleeps); a thread
//! that must sleep sets `GUARD | CONTENDED` in one RMW (which takes the guard if it was free
//! meanwhile) and sleeps on `flags` with exactly the value it left, and, once woken, spins
//! again and takes the guard with `CONTENDED` set again (others may still sleep, and nothing
//! else would wake them); the release clears both bits with
//! a `Release` RMW and wakes one sleeper if `CONTENDED` was set. A sleeper's futex compare
//! includes the other bits, which change meanwhile (a hint flip, a token, a renewal): then the
//! compare fails, the sleeper goes round once more and sleeps on the new value. That costs a
//! wake-up at most, never a lost one: only the release clears `CONTENDED`, and it wakes.
//!
//! Memory ordering: taking the guard is an `Acquire` RMW and releasing it a `Release` RMW;
//! the other bits of `flags` change only by RMWs, which do not break that release sequence.
//! So everything done under the guard happens-before everything done under it next.
//!
//! The guard's holder never blocks (it reads and writes nodes, and at most wakes or requeues
//! one thread per waiter it releases), so it holds the guard for a few hundred instructions
//! or a system call: a short spin usually catches its release.

use super::{CONTENDED, GUARD, Queue};
use crate::rt::{may_spin, spin_hint, spin_limit, wait, wake_one};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// How many times a thread re-reads a held guard before it sleeps, with 2, 4, 8, 16, 32,
/// then 32 busy-wait steps between: the same bet as `Lock`'s `SPIN_ROUNDS` (about 4 us here;
/// std's and Go's mutexes spend about as much), for a lock held far shorter. No spin while a
/// thread sleeps for it, on a single CPU, or under loom.
const GUARD_SPIN_ROUNDS: u32 = 7;

/// The longest busy-wait between two looks at the guard, in steps.
const GUARD_BACKOFF_MAX: u32 = 32;

impl Queue<'_> {
    /// Takes the guard.
    #[inline]
    pub(super) fn lock_guard(self) {
        // Transition: free -> GUARD (the other bits unchanged; a no-op if it is held).
        if self.flags.fetch_or(GUARD, Acquire) & GUARD != 0 {
            self.lock_guard_contended();
        }
    }

    /// The guard was held: spin a little, then sleep on `flags`, and so on until it is ours.
    #[cold]
    fn lock_guard_contended(self) {
        // Once we have slept, whoever released the guard cleared `CONTENDED` to wake us, and
        // others may still sleep: we take the guard with `CONTENDED` set again, so its release
        // wakes the next one.
        let mut mark = 0;
        loop {
            if self.spin_for_guard(mark) {
                return;
            }
            // Transition: held -> held and CONTENDED (we sleep: its release must wake one), or
            // free -> GUARD | CONTENDED (ours; other sleepers may exist, so its release wakes).
            let w = self.flags.fetch_or(GUARD | CONTENDED, Acquire);
            if w & GUARD == 0 {
                return;
            }
            // Sleeps only while `flags` is exactly what we left: any change (the release, or
            // another bit) makes us look again.
            wait(self.flags, w | GUARD | CONTENDED, None);
            mark = CONTENDED;
        }
    }

    /// Spins while the guard is held and nobody sleeps for it, re-reading `flags` after 2, 4,
    /// 8, ... busy-wait steps (at most [`GUARD_BACKOFF_MAX`]), [`GUARD_SPIN_ROUNDS`] times; takes
    /// it, setting `mark` too, if it frees up. `true` if taken. Also after a wake-up, as `Lock`
    /// waiters do: a woken thread that finds the guard taken again catches its release by
    /// spinning, instead of sleeping once more.
    #[inline]
    fn spin_for_guard(self, mark: u32) -> bool {
        let rounds = if may_spin() {
            spin_limit(GUARD_SPIN_ROUNDS)
        } else {
            0
        };
        for step in 0..rounds {
            let w = self.flags.load(Relaxed);
            if w & GUARD == 0 {
                // Transition: free -> GUARD (| CONTENDED after a sleep).
                if self.flags.fetch_or(GUARD | mark, Acquire) & GUARD == 0 {
                    return true;
                }
            } else if w & CONTENDED != 0 {
                return false; // Somebody sleeps for it: the holder is not about to let go.
            }
            for _ in 0..(2u32 << step).min(GUARD_BACKOFF_MAX) {
                spin_hint();
            }
        }
        false
    }

    /// Releases the guard, waking one sleeper if any may sleep.
    #[inline]
    pub(super) fn unlock_guard(self) {
        // Transition: GUARD (and CONTENDED) -> free.
        if self.flags.fetch_and(!(GUARD | CONTENDED), Release) & CONTENDED != 0 {
            wake_one(self.flags);
        }
    }
}
