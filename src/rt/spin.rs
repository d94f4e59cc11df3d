//! The spin policy: how long a waiter busy-waits before it sleeps ([`spin`]), the spin hint
//! that a primitive keeps in its word ([`set_hint`], [`Spun::was_short`]), and the size of a
//! notify's window of released waiters. Every spin constant is named here.

use super::{AtomicU32, may_spin, spin_hint, yield_now};
use std::time::{Duration, Instant};

/// Busy-wait steps every spin starts with, without reading the clock: enough to catch a
/// release that is already under way on another core.
const SPIN_SHORT: u32 = 10;

/// How long a spin may last when the primitive's hint says that its releases come from
/// running threads (a ping-pong): longer than a futex wake-up takes on a virtual machine
/// (about 5-10 us here), so a waiter whose partner is itself being woken still catches it.
const SPIN_LONG: Duration = Duration::from_micros(20);

/// A yield that takes longer than this ran another thread (a bare `sched_yield` takes well
/// under a microsecond here).
const YIELD_BUSY: Duration = Duration::from_micros(3);

/// A wait that ended within this time of its start (sleep included) counts as short: a long
/// spin would probably have caught its release, which came before the sleeper noticed it (its
/// own wake-up adds a futex latency).
const SHORT_WAIT: Duration = Duration::from_micros(40);

/// How a waiter's failed spin went, for [`Spun::was_short`] once it has slept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spun {
    /// When the spin began (`None` when there was no spin: loom, or a single CPU).
    start: Option<Instant>,
}

impl Spun {
    /// After a wait that slept and then was released: whether the primitive's spin hint should
    /// be on, i.e. whether the whole wait was short enough that a long spin would probably have
    /// caught the release (a long spin that failed may have been unlucky: a wake-up on a
    /// virtual machine can take longer than the spin, while waits in an oversubscribed ring
    /// take many hops). Under loom always `true`, so the models cover both hint transitions
    /// without a clock.
    #[inline]
    pub(crate) fn was_short(self) -> bool {
        match self.start {
            Some(start) => start.elapsed() < SHORT_WAIT,
            None => cfg!(threadkit_loom),
        }
    }
}

/// Turns a primitive's spin-hint `bit` in `word` on or off (see [`spin`] and
/// [`Spun::was_short`]) if `was`, its state when the wait began, says otherwise. Only a hint:
/// `Relaxed`, and a read-modify-write, so it never disturbs the word's other bits.
#[inline]
pub(crate) fn set_hint(word: &AtomicU32, bit: u32, was: bool, on: bool) {
    use core::sync::atomic::Ordering::Relaxed;
    if on && !was {
        word.fetch_or(bit, Relaxed);
    } else if !on && was {
        word.fetch_and(!bit, Relaxed);
    }
}

/// A waiter's bounded busy-wait before it sleeps: polls `ready` until it returns `true`
/// (`Ok`), or the budget is spent (`Err`, for [`Spun::was_short`]). The budget is
/// [`SPIN_SHORT`] steps, plus up to [`SPIN_LONG`] (never past `deadline`) when `long`, the
/// primitive's hint that its last waiter was released by a running thread. The long part
/// yields the CPU every couple of microseconds, so a releaser that waits for this very core
/// (threads outnumber cores) gets to run, and after a yield that ran another thread it yields
/// at every look (the two threads share a core: each hop is then one switch). No spinning on
/// a single CPU, nor under loom, where a spin would only hide the interleavings in which the
/// waiter goes to sleep first (the sleep path is what the models must cover).
#[inline]
pub(crate) fn spin(
    long: bool,
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> bool,
) -> Result<(), Spun> {
    if cfg!(threadkit_loom) || !may_spin() {
        return Err(Spun { start: None });
    }
    let start = Instant::now();
    for _ in 0..SPIN_SHORT {
        spin_hint();
        if ready() {
            return Ok(());
        }
    }
    if long {
        let end = start + SPIN_LONG;
        let end = deadline.map_or(end, |d| d.min(end));
        let mut rounds = 0u32;
        let mut every = 8;
        loop {
            // Read the clock every few steps only: it costs about as much as one step.
            for _ in 0..8 {
                spin_hint();
                if ready() {
                    return Ok(());
                }
            }
            let now = Instant::now();
            if now >= end {
                break;
            }
            rounds += 1;
            if rounds % every == 0 {
                yield_now();
                if now.elapsed() > YIELD_BUSY {
                    // The yield ran another thread: this core is shared (the releaser may be
                    // the thread that ran), so from now on yield at every look.
                    every = 1;
                }
            }
        }
    }
    Err(Spun { start: Some(start) })
}

/// Released waiters in flight per CPU (see [`notify_window`](super::notify_window)): enough that when one leaves
/// the lock, every CPU still has another one awake and ready to take it, so no CPU goes idle
/// between two of them (waking an idle CPU is the dearest step of a hand-over: about 20 us on
/// the 2-CPU virtual machine of `docs/benchmarks.md`, against 1-2 us for a switch between two
/// runnable threads). Measured there: 1 per CPU 0.75x std's herd time, 2 about 0.5x, 4 about
/// 0.45x, more no better.
#[cfg_attr(threadkit_loom, allow(dead_code))] // the model sets its window per test
pub(super) const NOTIFY_WINDOW_PER_CPU: u32 = 4;

/// The most released waiters in flight however many CPUs there are: a `notify_all` to
/// hundreds of waiters never makes more than this many compete for the lock.
#[cfg_attr(threadkit_loom, allow(dead_code))]
pub(super) const NOTIFY_WINDOW_MAX: u32 = 16;
