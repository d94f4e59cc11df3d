//! Each thread's record of its spins ([`Bets`]): lost long spins, where its partners seem to
//! run (its own CPU or another), the partner it has just woken, and its last yield. A part of
//! the spin policy (`spin/mod.rs`, which names every constant); per thread, not per primitive.

#[cfg(not(threadkit_loom))]
use super::{SHARED_SLEEP, SKIP_MAX, SWITCH_MIN, YIELD_EVERY};
#[cfg(doc)]
use super::{SPIN_AFTER_WAKE, SPIN_LONG};
use std::time::{Duration, Instant};

/// This thread's record of its long spins (bets that the releaser is running on another CPU
/// right now), as exponential backoff: every lost bet doubles the number of long spins the
/// thread skips afterwards (1, 2, 4, ... [`SKIP_MAX`]); a spinner that lost its CPU skips
/// [`SKIP_MAX`] at once; a won bet forgets the losses. Per thread, not per primitive: what
/// decides the bet is where this thread and its partners run and how busy the machine is,
/// which a thread learns from every primitive it waits on.
///
/// The same backoff for every spin, short ones too, once a sleep has shown that the partner
/// shares this thread's CPU (see [`Partner`]).
#[derive(Clone, Copy)]
#[cfg_attr(threadkit_loom, allow(dead_code))]
pub(super) struct Bets {
    /// Long spins still to skip.
    pub(super) skip: u32,
    /// How many long spins the last lost bet made the thread skip (doubled by the next loss).
    pub(super) penalty: u32,
    /// When this thread last woke a partner it may wait for next (see [`woke_partner`]);
    /// taken by its next spin.
    woke: Option<Instant>,
    /// When this thread last gave its CPU away in [`yield_to_holder`].
    pub(super) yielded: Option<Instant>,
    /// Waits still to make without any spin: the partner shares this CPU ([`Partner::Here`]).
    shared: u32,
    /// How many waits the last sign of a shared CPU made the thread spin-free (doubled by the
    /// next, halved by a sleep that says otherwise); while not 0, no long spin.
    shared_penalty: u32,
}

#[cfg(not(threadkit_loom))]
std::thread_local! {
    pub(super) static BETS: core::cell::Cell<Bets> = const {
        core::cell::Cell::new(Bets {
            skip: 0,
            penalty: 0,
            woke: None,
            yielded: None,
            shared: 0,
            shared_penalty: 0,
        })
    };
}

/// Records that this thread has just made a wake-up call for a partner that its next wait
/// probably depends on: that spin may last [`SPIN_AFTER_WAKE`] from now. Called for the one
/// sleeping partner of a ping-pong or a one-slot queue: a `put` that woke a getter (whose `get`
/// makes the room the next `put` needs), a notify that released the only waiter, a release to
/// the only sleeper, an `Event` set, a 2-party `Barrier` round. Without it both sides of a
/// ping-pong sleep at every turn once one of them slept: each sleep makes the partner's wait
/// too long for the hint, and a wake-up on a virtual machine outlasts [`SPIN_LONG`].
#[inline]
pub(crate) fn woke_partner() {
    #[cfg(not(threadkit_loom))]
    BETS.with(|b| {
        b.set(Bets {
            woke: Some(Instant::now()),
            ..b.get()
        })
    });
}

/// Gives this thread's CPU to another runnable thread, if there is one, unless this thread
/// did so within [`YIELD_EVERY`] of `now`. Called by a `Lock` waiter that has found the lock
/// held at three looks in half a microsecond: the lock is busy and its holders run. Where each
/// contender has a CPU to itself the call returns at once (nothing else is runnable). On a
/// machine busy with other work, contenders that run at the same time pass the lock's cache
/// line to and fro at every acquire, and two such threads spend about twice the CPU per lock
/// that one spends alone; a yield lets the other process run on this CPU now and puts this
/// thread's next timeslice where the holder's is not. On the 2-CPU VM of
/// `docs/benchmarks-history.md`, two threads locking and unlocking with two CPU-bound processes
/// running: 35-44 ns of CPU per lock without it (in some runs), 16.8-18.1 with it, about what
/// one thread alone spends (17.4); the rate bound keeps 4 threads with 0.6 us sections on an
/// idle machine at 830-920 ns per lock (800-920 without any yield, 1,080-1,360 with one at
/// every wait: each one a switch to another contender). Figures: `docs/benchmarks-history.md`.
#[inline]
pub(crate) fn yield_to_holder(now: Instant) {
    #[cfg(not(threadkit_loom))]
    {
        let due = BETS.with(|b| {
            let bets = b.get();
            let due = bets
                .yielded
                .is_none_or(|t| now.saturating_duration_since(t) >= YIELD_EVERY);
            if due {
                b.set(Bets {
                    yielded: Some(now),
                    ..bets
                });
            }
            due
        });
        if due {
            crate::rt::yield_now();
        }
    }
    #[cfg(threadkit_loom)]
    let _ = now;
}

/// Drops this thread's [`woke_partner`] record: its next wait is not one that the woken
/// partner answers first (it queues behind other waiters, whom a notify releases first).
#[inline]
pub(crate) fn forget_partner() {
    let _ = take_woke();
}

/// Unit tests: takes this thread's [`woke_partner`] record and says whether there was one.
#[cfg(all(test, not(threadkit_loom)))]
pub(crate) fn take_partner_record() -> bool {
    take_woke().is_some()
}

/// Unit tests: this thread's record of lost bets (long spins still to skip, and the last
/// penalty), which only a long spin that ran out changes.
#[cfg(all(test, not(threadkit_loom)))]
pub(crate) fn lost_bets() -> (u32, u32) {
    BETS.with(|b| (b.get().skip, b.get().penalty))
}

/// Takes this thread's [`woke_partner`] record.
#[inline]
pub(super) fn take_woke() -> Option<Instant> {
    #[cfg(not(threadkit_loom))]
    return BETS.with(|b| {
        let bets = b.get();
        let t0 = bets.woke?;
        b.set(Bets { woke: None, ..bets });
        Some(t0)
    });
    #[cfg(threadkit_loom)]
    None
}

/// Whether this thread may make a long spin now (and counts one skip if not).
#[inline]
pub(super) fn may_bet() -> bool {
    #[cfg(not(threadkit_loom))]
    return BETS.with(|b| {
        let bets = b.get();
        if bets.skip == 0 {
            return true;
        }
        b.set(Bets {
            skip: bets.skip - 1,
            ..bets
        });
        false
    });
    #[cfg(threadkit_loom)]
    false
}

/// A long spin ran out (`preempted`: its spinner lost the CPU meanwhile).
#[cold]
pub(super) fn bet_lost(preempted: bool) {
    #[cfg(not(threadkit_loom))]
    BETS.with(|b| {
        let bets = b.get();
        let penalty = if preempted {
            SKIP_MAX
        } else {
            (bets.penalty * 2).clamp(1, SKIP_MAX)
        };
        b.set(Bets {
            skip: penalty,
            penalty,
            ..bets
        });
    });
    #[cfg(threadkit_loom)]
    let _ = preempted;
}

/// Where this thread's record says the partner of its next wait runs, for [`spin`](super::spin).
///
/// A partner that shares the waiter's CPU cannot answer while the waiter spins: it is
/// runnable, waiting for that very CPU, and answers a moment after the waiter goes to sleep.
/// That is how a scheduler places two threads that take turns (only one of them ever has
/// work) when other work keeps the rest busy: each wake-up is a switch on one CPU. Their
/// every spin then only delays the answer (on the 2-CPU Intel VM of `docs/benchmarks.md`,
/// one other process busy, a one-slot producer/consumer queue of two unpinned threads: 2.5-3.0
/// us an item with spins, 2.1 us for a baseline that never spins: "This session"). The sign is the
/// sleep after a failed spin: [`SWITCH_MIN`] to [`SHARED_SLEEP`] long, a switch on this CPU;
/// a wake-up from another CPU that had gone idle takes longer (20-50 us on the VMs measured),
/// and a release that came just after the spin gave up, shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Partner {
    /// Not known to share this CPU: spin as the primitive's hint and the bets allow.
    Elsewhere,
    /// It shared this CPU at the last sign, whose spin-free waits are over: spin the short
    /// part only, to look again (a release caught says the partner has moved).
    Probation,
    /// It shares this CPU: no spin (one spin-free wait counted).
    Here,
}

/// Where the partner of this thread's next wait runs (and counts one spin-free wait if here).
#[inline]
pub(super) fn partner() -> Partner {
    #[cfg(not(threadkit_loom))]
    return BETS.with(|b| {
        let bets = b.get();
        if bets.shared_penalty == 0 {
            Partner::Elsewhere
        } else if bets.shared == 0 {
            Partner::Probation
        } else {
            b.set(Bets {
                shared: bets.shared - 1,
                ..bets
            });
            Partner::Here
        }
    });
    #[cfg(threadkit_loom)]
    Partner::Elsewhere
}

/// Whether this thread's partners share its CPU (or did at the last sign: probation
/// included), without counting a wait: a waker's brief spin before its wake-up call asks.
#[inline]
pub(super) fn sharing() -> bool {
    #[cfg(not(threadkit_loom))]
    return BETS.with(|b| b.get().shared_penalty != 0);
    #[cfg(threadkit_loom)]
    false
}

/// A spin caught its release: the partner runs on another CPU (forget the signs of a shared
/// one); a long spin that did (`long`, a won bet) also forgets the lost bets.
#[inline]
pub(super) fn caught(long: bool) {
    #[cfg(not(threadkit_loom))]
    BETS.with(|b| {
        let bets = b.get();
        let won = long && bets.penalty != 0;
        if won || bets.shared_penalty != 0 {
            b.set(Bets {
                skip: if won { 0 } else { bets.skip },
                penalty: if won { 0 } else { bets.penalty },
                shared: 0,
                shared_penalty: 0,
                ..bets
            });
        }
    });
    #[cfg(threadkit_loom)]
    let _ = long;
}

/// After a spin that failed, the wait slept for `sleep` and was released: a switch on this
/// CPU doubles the spin-free waits (up to [`SKIP_MAX`]), a longer sleep halves the penalty.
#[inline]
pub(super) fn slept(sleep: Duration) {
    #[cfg(not(threadkit_loom))]
    BETS.with(|b| {
        let bets = b.get();
        let penalty = if sleep < SWITCH_MIN {
            return;
        } else if sleep < SHARED_SLEEP {
            (bets.shared_penalty * 2).clamp(1, SKIP_MAX)
        } else if bets.shared_penalty != 0 {
            bets.shared_penalty / 2
        } else {
            return;
        };
        b.set(Bets {
            shared: if sleep < SHARED_SLEEP { penalty } else { 0 },
            shared_penalty: penalty,
            ..bets
        });
    });
    #[cfg(threadkit_loom)]
    let _ = sleep;
}
