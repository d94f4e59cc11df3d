//! [`Sleepers`]: an event count for the ring queue's sleepers on one condition (an item
//! arrived, room appeared, all tasks done). Wakers make no system call unless someone counted
//! themselves as (about to be) asleep.
//!
//! | word    | bits      | meaning                                                         |
//! |---------|-----------|-----------------------------------------------------------------|
//! | `count` | `0..24`   | `n`: waiters counted as (about to be) asleep on `seq`           |
//! |         | `24..48`  | `k`: wake-ups issued since the last waiter counted itself, not yet taken back by a leaving waiter |
//! |         | `48..64`  | the fork generation (low bits) that counted them                |
//! | `seq`   | all       | the futex word: bumped before every wake-up call                |
//!
//! ```text
//!  waiter: s = seq ; (n, k) -> (n + 1, 0) ; look at the condition again ─ true ─> leave
//!                                             │ false
//!                                             └─> futex_wait(seq, s) ; leave ; look again
//!          leave: (n, k) -> (n - 1, k - 1 or 0)
//!  waker:  make the condition true (an SC RMW on the ring) ; load count ─ n <= k ─> done
//!                                                            │ n > k, this generation
//!                                                            ├─ used up within 0.4 us ─> done
//!                                                            └─> (n, k + 1) ; seq += 1 ; futex_wake(seq)
//! ```
//!
//! Why `n > k` suffices: every wake-up counted in `k` came after the last waiter counted
//! itself, so after the `seq` every counted waiter read; each wakes one counted sleeper, or
//! finds none asleep, and then every counted waiter still to sleep finds `seq` moved and
//! does not. A leaving waiter takes one back (it may have been the one woken). So while some
//! counted waiter has no wake-up coming, `k` is below `n`, and the next waker calls. A
//! sleeping getter thus costs its putters one wake-up call, not one per `put` until it runs.
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
//! # Wake-ups that would find nothing
//!
//! A `put` that finds sleepers first watches its item for a moment (`rt::spin_briefly`,
//! about 0.4 us): if a getter that did not sleep takes it meanwhile, no wake-up is needed
//! (the item is gone; any other item has a `put` of its own that decides for it). One producer
//! feeding ten consumers through one slot otherwise woke a sleeper at nearly every `put`,
//! although the consumer that had just taken the last item was on its way back for the next:
//! the woken consumer found nothing and slept again, and the extra runnable thread pushed the
//! two that mattered off their CPUs. The same holds for room and sleeping putters.
//!
//! A wake-up call is also recorded for the thread that made it (`rt::woke_partner`): its
//! next wait (the producer's wait for room that the woken consumer makes) may spin until
//! 50 us after the call, not the usual 10 us. On a hypervisor where a wake-up of an idle CPU
//! takes 20-35 us, both sides otherwise slept at every hand-over from the first one on.
//!
//! After a `fork()` the child forgets the counts of the parent's vanished threads: a count
//! stamped with another generation counts nobody (wakers skip it, the next waiter restarts
//! it at 1).

use crate::rt::{
    AtomicU32, AtomicU64, fork_generation, spin_briefly, wait, wake_all, wake_one, woke_partner,
};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::Instant;

/// One waiter in `count` (bits `0..24`).
const WAITER: u64 = 1;
const WAITERS: u64 = (1 << 24) - 1;
/// One wake-up issued and not yet taken back by a waiter (bits `24..48`).
const SIGNAL: u64 = 1 << 24;
const SIGNALS: u64 = WAITERS << 24;
/// Where the fork generation starts in `count` (bits `48..64`).
const GEN_SHIFT: u32 = 48;

/// The generation field for `count` in this process.
#[inline]
fn generation() -> u64 {
    u64::from(fork_generation()) & (u64::MAX >> GEN_SHIFT)
}

/// Under loom only, a `SeqCst` fence (see the module docs): what the model needs to see the
/// Dekker handshake that the `SeqCst` accesses make on their own.
#[inline(always)]
fn model_fence() {
    #[cfg(threadkit_loom)]
    crate::rt::fence(SeqCst);
}

/// Counted waiters and issued wake-ups of `count`.
#[inline]
fn split(w: u64) -> (u64, u64) {
    (w & WAITERS, (w & SIGNALS) >> 24)
}

/// Sleepers on one condition of a ring queue.
pub(super) struct Sleepers {
    /// Fork generation, issued wake-ups and counted waiters (see the module docs).
    count: AtomicU64,
    /// The futex word.
    seq: AtomicU32,
}

impl Sleepers {
    pub(super) fn new() -> Self {
        Sleepers {
            count: AtomicU64::new(0),
            seq: AtomicU32::new(0),
        }
    }

    /// Counts the caller as (about to be) asleep and returns the value to pass to
    /// [`sleep`](Self::sleep). The caller must look at its condition afterwards, and call
    /// [`sleep`](Self::sleep) (false) or [`cancel`](Self::cancel) (true).
    #[inline]
    pub(super) fn prepare(&self) -> u32 {
        // Read before counting: a wake-up issued for the count below bumps `seq` after this
        // read, so it either wakes this waiter or makes its sleep return at once.
        let s = self.seq.load(SeqCst);
        let g = generation();
        let mut w = self.count.load(Relaxed);
        loop {
            // Transition: (n waiters, k wake-ups) -> (n + 1, 0): the wake-ups issued so far
            // may all have gone to the others, so this waiter is not covered by one (a count of
            // another generation restarts at (1, 0)).
            let new = if w >> GEN_SHIFT == g {
                (w & !SIGNALS) + WAITER
            } else {
                (g << GEN_SHIFT) | WAITER
            };
            match self.count.compare_exchange(w, new, SeqCst, Relaxed) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        model_fence();
        s
    }

    /// Sleeps while nobody has bumped `seq` since [`prepare`](Self::prepare) returned `s`
    /// (or until `deadline`), then uncounts the caller.
    #[inline]
    pub(super) fn sleep(&self, s: u32, deadline: Option<Instant>) {
        wait(&self.seq, s, deadline);
        self.cancel();
    }

    /// Uncounts a caller of [`prepare`](Self::prepare) (after its sleep, or instead of it),
    /// taking back one issued wake-up if any is outstanding.
    #[inline]
    pub(super) fn cancel(&self) {
        let mut w = self.count.load(Relaxed);
        loop {
            // Transition: (n waiters, k wake-ups) -> (n - 1, k - 1 or 0). Its own `prepare`
            // made the generation this one, and only a waiter of another generation resets it,
            // so n is at least 1; k <= n.
            let (_, k) = split(w);
            let new = w - WAITER - if k > 0 { SIGNAL } else { 0 };
            match self.count.compare_exchange(w, new, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(now) => w = now,
            }
        }
    }

    /// After the `SeqCst` publication that made the condition true: wakes one counted waiter,
    /// unless every counted waiter already has a wake-up coming, or `gone()` (`SeqCst` loads)
    /// turns true within a moment: the condition was used up by a waiter that did not sleep
    /// (the item taken, the room refilled; see the module docs).
    #[inline]
    pub(super) fn notify_one(&self, gone: impl FnMut() -> bool) {
        model_fence();
        let w = self.count.load(SeqCst);
        let (n, k) = split(w);
        if n > k && !spin_briefly(gone) {
            self.wake(self.count.load(SeqCst), false);
        }
    }

    /// As [`notify_one`](Self::notify_one), waking every counted waiter.
    #[inline]
    pub(super) fn notify_all(&self) {
        model_fence();
        let w = self.count.load(SeqCst);
        let (n, k) = split(w);
        if n > k {
            self.wake(w, true);
        }
    }

    #[cold]
    fn wake(&self, mut w: u64, all: bool) {
        loop {
            if w >> GEN_SHIFT != generation() {
                return; // counted by a parent's threads, which vanished in a fork
            }
            let (n, k) = split(w);
            if n <= k {
                return;
            }
            // Transition: k wake-ups -> k + 1 (all: n).
            let new = if all {
                (w & !SIGNALS) | (n << 24)
            } else {
                w + SIGNAL
            };
            match self.count.compare_exchange(w, new, SeqCst, SeqCst) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        self.seq.fetch_add(1, SeqCst);
        if all {
            wake_all(&self.seq);
        } else {
            wake_one(&self.seq);
            woke_partner();
        }
    }
}
