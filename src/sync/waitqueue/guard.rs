//! The guard of [`WaitQueue`](super::WaitQueue): the queue's own lock, bit `GUARD` of `flags`
//! and the count of its sleepers beside it (the bits are tabled in "The layout" in `mod.rs`).
//!
//! The guard is `Lock`'s algorithm cut down to a lock that is never held long and never
//! handed over: taking it sets `GUARD` with an `Acquire` RMW. A thread that finds it held
//! spins a little (unless a sleeper is counted: then the holder is not about to let go), then
//! counts itself as a sleeper with a compare-and-swap from a value with `GUARD` set, and
//! sleeps on `flags` with exactly that value. Once woken (or if the value changed first) it
//! leaves the count, taking the guard in the same compare-and-swap if it is free, and
//! otherwise spins and counts in again. The release clears `GUARD` with a `Release` RMW and,
//! if the count it cleared it from is not zero, wakes one sleeper.
//!
//! No wake-up is lost: a thread sleeps only on a value with `GUARD` set and itself counted, so
//! the release that ends that hold either changes the value before it sleeps (its futex
//! compare fails) or sees it counted and wakes a sleeper; a woken thread that does not get the
//! guard counts in again before it sleeps again, so the next release wakes one more. The other
//! bits of `flags` change meanwhile (a hint flip, a token): then a futex compare fails and the
//! sleeper goes round once more, which costs a spin, never a wake-up. And no release wakes
//! anybody while nobody sleeps: the count is exact (a woken thread leaves it at once), so
//! spinning newcomers are not sent to sleep by a stale flag either.
//!
//! More than 16383 sleepers at once (the field's 14 bits) cannot be counted: a thread that
//! finds the count full spins until it changes, and never sleeps uncounted.
//!
//! Memory ordering: taking the guard (the `fetch_or`, or a counted sleeper's compare-and-swap)
//! is an `Acquire` RMW and releasing it a `Release` RMW; the other bits of `flags` change only
//! by RMWs, which do not break that release sequence. So everything done under the guard
//! happens-before everything done under it next.
//!
//! The guard's holder never blocks (it reads and writes nodes, and at most wakes or requeues
//! one thread per waiter it releases), so it holds the guard for a few hundred instructions
//! or a system call: a short spin often catches its release.

use super::{GUARD, Queue, SLEEPER, SLEEPERS};
use crate::rt::{may_spin, spin_hint, spin_limit, wait, wake_one};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// How many times a thread re-reads a held guard before it sleeps, with 2, 4, 8, 16, 32,
/// then 32 busy-wait steps between (1.5-4 us, by the machine's `PAUSE`; std's and Go's
/// mutexes spend about as much), for a lock held far shorter than a user's `Lock` (whose spin
/// is bounded by time instead, see `Lock`'s `SPIN_TIME`). No spin while a thread sleeps for
/// it, on a single CPU, or under loom.
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

    /// The guard was held: spin a little, then sleep on `flags` counted, and so on until it is
    /// ours.
    #[cold]
    fn lock_guard_contended(self) {
        loop {
            if self.spin_for_guard() {
                return;
            }
            let Some(counted) = self.count_in() else {
                return; // It was free: ours.
            };
            wait(self.flags, counted, None);
            if self.leave_count() {
                return;
            }
        }
    }

    /// Spins while the guard is held and no sleeper is counted, re-reading `flags` after 2, 4,
    /// 8, ... busy-wait steps (at most [`GUARD_BACKOFF_MAX`]), [`GUARD_SPIN_ROUNDS`] times; takes
    /// it if it frees up. `true` if taken.
    #[inline]
    fn spin_for_guard(self) -> bool {
        let rounds = if may_spin() {
            spin_limit(GUARD_SPIN_ROUNDS)
        } else {
            0
        };
        for step in 0..rounds {
            for _ in 0..(2u32 << step).min(GUARD_BACKOFF_MAX) {
                spin_hint();
            }
            let w = self.flags.load(Relaxed);
            if w & GUARD == 0 {
                // Transition: free -> GUARD.
                if self.flags.fetch_or(GUARD, Acquire) & GUARD == 0 {
                    return true;
                }
            } else if w & SLEEPERS != 0 {
                return false; // Somebody sleeps for it: the holder is not about to let go.
            }
        }
        false
    }

    /// Counts the caller as a sleeper while the guard is held, returning the value it left
    /// (to sleep on); `None` if the guard was free, and is now the caller's.
    #[inline]
    fn count_in(self) -> Option<u32> {
        let mut w = self.flags.load(Relaxed);
        loop {
            let new = if w & GUARD == 0 {
                // Transition: free -> GUARD.
                w | GUARD
            } else if w & SLEEPERS == SLEEPERS {
                // The count is full: spin (uncounted, so never asleep) until it changes.
                spin_hint();
                w = self.flags.load(Relaxed);
                continue;
            } else {
                // Transition: held -> held, one more sleeper.
                w + SLEEPER
            };
            match self.flags.compare_exchange_weak(w, new, Acquire, Relaxed) {
                Ok(_) if w & GUARD == 0 => return None,
                Ok(_) => return Some(new),
                Err(now) => w = now,
            }
        }
    }

    /// A counted sleeper is back (woken, or its futex compare failed): leaves the count,
    /// taking the guard in the same step if it is free. `true` if taken.
    #[inline]
    fn leave_count(self) -> bool {
        let mut w = self.flags.load(Relaxed);
        loop {
            // Transition: one sleeper fewer, and free -> GUARD if it is free.
            let new = (w - SLEEPER) | GUARD;
            match self.flags.compare_exchange_weak(w, new, Acquire, Relaxed) {
                Ok(_) => return w & GUARD == 0,
                Err(now) => w = now,
            }
        }
    }

    /// Releases the guard, waking one sleeper if any is counted.
    #[inline]
    pub(super) fn unlock_guard(self) {
        // Transition: GUARD -> free.
        if self.flags.fetch_and(!GUARD, Release) & SLEEPERS != 0 {
            wake_one(self.flags);
        }
    }
}

#[cfg(all(test, not(threadkit_loom)))]
mod tests {
    use super::super::{GUARD, SLEEPERS, WaitQueue};
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

    /// A full sleeper count (16383 threads asleep for the guard) makes the next thread spin
    /// uncounted instead of sleeping: it still gets the guard once it is released, and never
    /// overflows the count into the fork generation.
    #[test]
    fn a_full_sleeper_count_makes_a_thread_spin_not_sleep() {
        let q = WaitQueue::new(());
        q.flags.store(GUARD | SLEEPERS, Relaxed);
        let got = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                q.queue().lock_guard();
                got.store(true, SeqCst);
                assert_eq!(q.flags.load(Relaxed) & SLEEPERS, SLEEPERS);
                q.queue().unlock_guard();
            });
            crate::rt::sleep(std::time::Duration::from_millis(20));
            assert!(!got.load(SeqCst));
            q.queue().unlock_guard();
        });
        assert!(got.load(SeqCst));
        assert_eq!(q.flags.load(Relaxed), SLEEPERS);
    }

    /// Threads contending for the guard (spinning, and sleeping counted) all get it, one at a
    /// time, and leave no sleeper counted.
    #[test]
    fn contended_guard_excludes_and_leaves_no_sleeper() {
        let q = WaitQueue::new(());
        let inside = AtomicBool::new(false);
        let rounds = if cfg!(miri) { 20 } else { 2000 };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..rounds {
                        q.queue().lock_guard();
                        assert!(!inside.swap(true, SeqCst));
                        if i % 10 == 0 {
                            crate::rt::sleep(std::time::Duration::from_micros(50));
                        }
                        inside.store(false, SeqCst);
                        q.queue().unlock_guard();
                    }
                });
            }
        });
        assert_eq!(q.flags.load(Relaxed) & (GUARD | SLEEPERS), 0);
    }
}
