//! Yield waits ([`yield_wait`]): a waiter that cannot spin, because the threads it waits for
//! outnumber the other CPUs and one of them may need this very CPU, hands the CPU to them with
//! `sched_yield` and sleeps only once yields stop answering quickly. A part of the spin
//! policy (`spin/mod.rs`, which names every constant).
//!
//! Why: with more such threads than CPUs (a `Barrier` of 4 parties on 2 CPUs), a waiter that
//! sleeps at once lets its CPU go idle whenever the threads still to come are queued on the
//! other one, and every round then pays for waking an idle CPU (20-50 us on the 2-CPU VMs of
//! `docs/benchmarks.md`: about 25 us a round there, threadkit's, std's and glibc's barriers
//! alike). A yield switches to a thread that is runnable on this CPU in a microsecond or two,
//! and returns at once when there is none.
//!
//! The bet, measured rather than assumed. A yield that takes [`YIELD_SLOW`] or longer handed
//! the CPU to work that kept it: on a busy machine, another process's timeslice
//! (milliseconds), which every yield there would cost again. So after it no thread of the
//! process makes a yield wait for a while: [`YIELD_QUIET_MIN`] after the first slow yield,
//! twice as long after each further one, up to [`YIELD_QUIET_MAX`], so that a busy machine sees
//! at most one such probe a second per process; each yield wait answered without a slow yield
//! halves the period again (a virtual CPU that its host paused once also looks like a slow
//! yield). That record is the process's, not the thread's: how busy the machine is concerns
//! every thread alike, and a new thread must not pay a timeslice to learn it. A yield wait that
//! runs out ([`YIELD_WAIT`]) without its answer, every yield quick, makes its thread skip the
//! next 1, 2, 4, ... [`SKIP_MAX`] of them (the spins' backoff, per thread); one that gets its
//! answer forgets those losses. Never with a deadline: a lost timeslice would make a timed wait
//! return late.

#[cfg(not(threadkit_loom))]
use super::{SKIP_MAX, YIELD_QUIET_MAX, YIELD_QUIET_MIN, YIELD_SLOW, YIELD_WAIT};
#[cfg(not(threadkit_loom))]
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// The process's record: no yield wait before this time (`rt::monotonic_nanos`; 0: none).
/// Relaxed, like every spin hint: a stale read costs one yield wait more or less.
#[cfg(not(threadkit_loom))]
static OFF_UNTIL: AtomicU64 = AtomicU64::new(0);

/// How long, in nanoseconds, the last slow yield turned yield waits off (0: none since
/// yield waits were answered again).
#[cfg(not(threadkit_loom))]
static QUIET: AtomicU64 = AtomicU64::new(0);

/// This thread's record of yield waits that ran out (the spins' backoff).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(threadkit_loom, allow(dead_code))]
pub(super) struct RanOut {
    /// Yield waits still to skip.
    pub(super) skip: u32,
    /// How many the last one that ran out made the thread skip (doubled by the next).
    pub(super) penalty: u32,
}

#[cfg(not(threadkit_loom))]
std::thread_local! {
    static RAN_OUT: core::cell::Cell<RanOut> = const {
        core::cell::Cell::new(RanOut { skip: 0, penalty: 0 })
    };
}

/// How a yield wait ended, for the records ([`record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(threadkit_loom, allow(dead_code))]
pub(super) enum Ended {
    /// `ready` turned true, every yield quick.
    Answered,
    /// [`YIELD_WAIT`] passed without an answer, every yield quick.
    RanOut,
    /// A yield ending at the given `monotonic_nanos` took [`YIELD_SLOW`] or longer.
    Slow(u64),
}

/// Waits for `ready` by yielding this thread's CPU, for at most [`YIELD_WAIT`]: `true` once
/// `ready` holds, `false` when the caller should sleep (at once, without yielding, with a
/// `deadline`, on a single CPU, under loom, or while the records say yields do not pay). For
/// a waiter whose partners outnumber the other CPUs, so that a spin could not succeed (see the
/// module docs).
#[inline]
pub(crate) fn yield_wait(deadline: Option<Instant>, ready: impl FnMut() -> bool) -> bool {
    #[cfg(not(threadkit_loom))]
    return deadline.is_none() && crate::rt::may_spin() && may_yield() && yield_until(ready);
    #[cfg(threadkit_loom)]
    {
        let _ = (deadline, ready);
        false
    }
}

/// The yields of [`yield_wait`], timed on the process's clock (`rt::monotonic_nanos`, which
/// also stamps a slow yield for the process's record).
#[cfg(not(threadkit_loom))]
fn yield_until(mut ready: impl FnMut() -> bool) -> bool {
    let (wait, slow) = (YIELD_WAIT.as_nanos() as u64, YIELD_SLOW.as_nanos() as u64);
    let start = crate::rt::monotonic_nanos();
    let mut last = start;
    loop {
        crate::rt::yield_now();
        let now = crate::rt::monotonic_nanos();
        let answered = ready();
        let ended = if now.saturating_sub(last) >= slow {
            Some(Ended::Slow(now))
        } else if answered {
            Some(Ended::Answered)
        } else if now.saturating_sub(start) >= wait {
            Some(Ended::RanOut)
        } else {
            None
        };
        if let Some(ended) = ended {
            record(ended);
            return answered;
        }
        last = now;
    }
}

/// Whether the records let this thread make a yield wait now (using up one of its skips if
/// not).
#[cfg(not(threadkit_loom))]
fn may_yield() -> bool {
    let off = OFF_UNTIL.load(Relaxed);
    if off != 0 && crate::rt::monotonic_nanos() < off {
        return false;
    }
    RAN_OUT.with(|r| {
        let mut rec = r.get();
        if rec.skip == 0 {
            return true;
        }
        rec.skip -= 1;
        r.set(rec);
        false
    })
}

/// Records how a yield wait ended (see the module docs).
#[cfg(not(threadkit_loom))]
pub(super) fn record(ended: Ended) {
    RAN_OUT.with(|r| r.set(next_ran_out(r.get(), ended)));
    let quiet = QUIET.load(Relaxed);
    let next = next_quiet(quiet, ended);
    if next != quiet {
        QUIET.store(next, Relaxed);
    }
    if let Ended::Slow(at) = ended {
        OFF_UNTIL.fetch_max(at.saturating_add(next), Relaxed);
    }
}

/// The process's quiet period (nanoseconds) after a yield wait that ended so, from `quiet`.
#[cfg(not(threadkit_loom))]
pub(super) fn next_quiet(quiet: u64, ended: Ended) -> u64 {
    let min = YIELD_QUIET_MIN.as_nanos() as u64;
    match ended {
        Ended::Slow(_) => quiet
            .saturating_mul(2)
            .clamp(min, YIELD_QUIET_MAX.as_nanos() as u64),
        Ended::Answered if quiet / 2 < min => 0,
        Ended::Answered => quiet / 2,
        Ended::RanOut => quiet,
    }
}

/// A thread's record of yield waits that ran out, after one that ended so.
#[cfg(not(threadkit_loom))]
pub(super) fn next_ran_out(rec: RanOut, ended: Ended) -> RanOut {
    match ended {
        Ended::Answered => RanOut {
            skip: 0,
            penalty: 0,
        },
        Ended::RanOut => {
            let penalty = (rec.penalty * 2).clamp(1, SKIP_MAX);
            RanOut {
                skip: penalty,
                penalty,
            }
        }
        Ended::Slow(_) => rec,
    }
}

/// Unit tests: the process's record's end of the quiet period, and this thread's record.
#[cfg(all(test, not(threadkit_loom)))]
pub(super) fn yield_records() -> (u64, RanOut) {
    (OFF_UNTIL.load(Relaxed), RAN_OUT.with(|r| r.get()))
}
