//! The spin policy: how long a waiter busy-waits before it sleeps ([`spin`]), the spin hint
//! that a primitive keeps in its word ([`set_hint`], [`Spun::after_sleep`]), and the size of a
//! notify's window of released waiters. Every spin constant is named here.

use super::{AtomicU32, may_spin, spin_hint};
use std::time::{Duration, Instant};

mod bets;
mod yields;

use bets::{Partner, bet_lost, caught, may_bet, partner, sharing, slept, take_woke};
pub(crate) use bets::{forget_partner, woke_partner, yield_to_holder};
#[cfg(all(test, not(threadkit_loom)))]
pub(crate) use bets::{lost_bets, take_partner_record};
pub(crate) use yields::yield_wait;

/// Busy-wait steps every spin starts with, without reading the clock: enough to catch a
/// release that is already under way on another core (10 steps: about 0.4 us here).
const SPIN_SHORT: u32 = 10;

/// How long a spin may last when the primitive's hint says that its releases come from
/// running threads (a ping-pong): a partner that is running answers within a microsecond or
/// two, and a partner that is itself waking from a futex sleep takes 5-10 us on a virtual
/// machine. Never more than this, loaded or not (but see [`SPIN_AFTER_WAKE`]): a spin is a bet
/// that the partner is on a CPU right now, and a lost bet costs this much CPU time on top of
/// the sleep.
const SPIN_LONG: Duration = Duration::from_micros(10);

/// How long a thread spins, counted from its wake-up call, for a partner that it has just
/// woken ([`woke_partner`]): the wake-up of a sleeper on an idle virtual CPU takes 20-35 us on
/// some hypervisors (the 2-CPU Firecracker VM of `docs/benchmarks-history.md`), longer than
/// [`SPIN_LONG`], and a waker that then sleeps itself makes its partner pay the same again to
/// wake it: from the first such hand-over on, both sides slept at every one.
const SPIN_AFTER_WAKE: Duration = Duration::from_micros(50);

/// A spinner reads the clock every this many steps (a read costs about one step).
const STEPS_PER_LOOK: u32 = 8;

/// A gap this long between two looks at the clock in one spin (8 steps take well under a
/// microsecond) means the spinner lost its CPU: other runnable work shares this core.
const PREEMPTED: Duration = Duration::from_micros(20);

/// The most long spins a thread skips after lost bets (see [`Bets`](bets::Bets)): a lost bet
/// costs [`SPIN_LONG`] of CPU, so where bets keep failing (the partner shares this core, or the
/// machine is busy) they cost at most `SPIN_LONG / 64` per wait, about 0.15 us; up to
/// [`SPIN_AFTER_WAKE`] / 64, about 0.8 us, where the lost spins are after-wake ones (a ring
/// of threads, each waking the next: `docs/benchmarks.md`). A cap scaled to the spin's length
/// made the one-slot queue and webkit rows, whose after-wake bets mostly win, 2-3x slower.
/// Also the most spin-free waits in a row where the partner shares this CPU (`bets::Partner`).
#[cfg_attr(threadkit_loom, allow(dead_code))] // no spinning under the model
const SKIP_MAX: u32 = 64;

/// The least time between two of a thread's [`yield_to_holder`] calls that give its CPU away:
/// one yield now and then is enough to set apart, on a machine busy with other work, the
/// timeslices of threads that contend for one lock (see there), while a yield at every wait
/// would hand a slice to another process each time (the policy this replaced did that, and a
/// one-slot producer/consumer queue took 20x longer than the baseline's:
/// docs/benchmarks-history.md). Measured on the 2-CPU AMD EPYC VM of
/// `docs/benchmarks-history.md` against 1 ms (scratch binaries and `versus --runs 3`
/// alternated): with two CPU-bound processes running, 16 threads on one
/// lock with a 50 ns section spent 52-54 ns of CPU per lock instead of 60-67, 4 threads on a
/// random one of 2 locks 5.4-5.8 instead of 6.1-6.4 (the baselines' figures are in that
/// document); on the idle machine, 4 threads with 0.6 us sections took 765-834 ns per lock against
/// 790-858 (100 us: 788-906, each yield a switch to another contender).
#[cfg_attr(threadkit_loom, allow(dead_code))]
const YIELD_EVERY: Duration = Duration::from_micros(250);

/// The longest a [`yield_wait`] yields before its caller sleeps: about what the sleep it
/// replaces costs where it wakes an idle CPU (20-50 us on the VMs of `docs/benchmarks.md`).
/// Measured on the 2-CPU Intel VM there, a `Barrier` of 4 parties: see `yields.rs`.
#[cfg_attr(threadkit_loom, allow(dead_code))]
const YIELD_WAIT: Duration = Duration::from_micros(50);

/// A yield that takes this long or longer handed the CPU to work that kept it: on a busy
/// machine, another process's timeslice (milliseconds). Far above a switch between two of the
/// waiter's partners and back (1-5 us), far below a timeslice.
#[cfg_attr(threadkit_loom, allow(dead_code))]
const YIELD_SLOW: Duration = Duration::from_micros(100);

/// How long a thread makes no [`yield_wait`] after a first slow yield ([`YIELD_SLOW`]); each
/// further one doubles it, up to [`YIELD_QUIET_MAX`] (see `yields.rs`).
#[cfg_attr(threadkit_loom, allow(dead_code))]
const YIELD_QUIET_MIN: Duration = Duration::from_millis(50);

/// The longest a thread makes no [`yield_wait`] after slow yields: on a busy machine each
/// probe can cost a timeslice, so at most one a second per thread (a few ms a second).
#[cfg_attr(threadkit_loom, allow(dead_code))]
const YIELD_QUIET_MAX: Duration = Duration::from_secs(1);

/// A wait that ended within this time of its start (sleep included) counts as short: a long
/// spin would probably have caught its release, which came before the sleeper noticed it (its
/// own wake-up adds a futex latency).
const SHORT_WAIT: Duration = Duration::from_micros(40);

/// A sleep after a failed spin at least this long, and shorter than [`SHARED_SLEEP`], was a
/// switch to the partner on this CPU (see `bets::Partner`); a shorter one was a release that
/// came just after the spin gave up (the futex call found the word changed).
#[cfg_attr(threadkit_loom, allow(dead_code))]
const SWITCH_MIN: Duration = Duration::from_micros(1);

/// A sleep after a failed spin shorter than this was a switch to a partner sharing this CPU
/// (1-5 us on the 2-CPU Intel VM of `docs/benchmarks.md`), not a wake-up from another CPU
/// that had gone idle (20-50 us there; 20-35 us on the AMD and Firecracker VMs of
/// `docs/benchmarks-history.md`). See `bets::Partner`.
#[cfg_attr(threadkit_loom, allow(dead_code))]
const SHARED_SLEEP: Duration = Duration::from_micros(10);

/// How a waiter's failed spin went, for [`Spun::after_sleep`] once it has slept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spun {
    /// When the wait began (`None` when it could not spin: loom, or a single CPU).
    start: Option<Instant>,
    /// When the spin gave up and the sleep began (`None` when no spin ran).
    gave_up: Option<Instant>,
}

impl Spun {
    /// After a wait that slept and then was released: whether the primitive's spin hint should
    /// be on, i.e. whether the whole wait was short enough that a long spin would probably have
    /// caught the release (a long spin that failed may have been unlucky: a wake-up on a
    /// virtual machine can take longer than the spin, while waits in an oversubscribed ring
    /// take many hops; the thread's own [`Bets`](bets::Bets) keep lost bets rare). Under loom
    /// always `true`, so the models cover both hint transitions without a clock.
    ///
    /// Also records in the thread's record what the sleep says about where the partner runs
    /// (see `bets::Partner`), so it is called once per such wait.
    #[inline]
    pub(crate) fn after_sleep(self) -> bool {
        let Some(start) = self.start else {
            return cfg!(threadkit_loom);
        };
        let now = Instant::now();
        if let Some(gave_up) = self.gave_up {
            slept(now.saturating_duration_since(gave_up));
        }
        now.saturating_duration_since(start) < SHORT_WAIT
    }
}

/// Turns a primitive's spin-hint `bit` in `word` on or off (see [`spin`] and
/// [`Spun::after_sleep`]) if `was`, its state when the wait began, says otherwise. Only a hint:
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
/// (`Ok`), or the budget is spent (`Err`, for [`Spun::after_sleep`]). The budget is
/// [`SPIN_SHORT`] steps, plus up to [`SPIN_LONG`] (never past `deadline`) when `long`, the
/// primitive's hint that its last waiter was released by a running thread, and this thread's
/// [`Bets`](bets::Bets) allow it; or, if this thread has just woken the partner it now waits for
/// ([`woke_partner`]), until [`SPIN_AFTER_WAKE`] after that wake-up call, with the same
/// [`Bets`](bets::Bets). No spin at all while the record says that the partner shares this
/// thread's CPU, and only the short part while it is on probation (`bets::Partner`).
///
/// Never a `sched_yield`: on a busy machine each one can hand a whole timeslice (milliseconds)
/// to another process, while a futex sleeper is woken, and preferred by the scheduler, within
/// microseconds. A spinner that finds a gap of [`PREEMPTED`] between two looks at the clock
/// has lost its CPU: it stops at once and goes to sleep. No spinning on a single CPU, nor
/// under loom, where a spin would only hide the interleavings in which the waiter goes to
/// sleep first (the sleep path is what the models must cover).
#[inline]
pub(crate) fn spin(
    long: bool,
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> bool,
) -> Result<(), Spun> {
    if cfg!(threadkit_loom) || !may_spin() {
        return Err(Spun {
            start: None,
            gave_up: None,
        });
    }
    let start = Instant::now();
    let woke = take_woke();
    let partner = partner();
    if partner == Partner::Here {
        return Err(Spun {
            start: Some(start),
            gave_up: None,
        });
    }
    if poll_short(&mut ready) {
        if partner == Partner::Probation {
            caught(false); // (elsewhere there is no record to end)
        }
        return Ok(());
    }
    // Just after waking the partner this wait depends on: spin until SPIN_AFTER_WAKE after the
    // wake-up call, hint or not. One bet either way.
    let after_wake = woke
        .map(|t0| t0 + SPIN_AFTER_WAKE)
        .filter(|&end| end > start);
    if partner == Partner::Probation || !(long || after_wake.is_some()) || !may_bet() {
        return Err(Spun {
            start: Some(start),
            gave_up: Some(Instant::now()),
        });
    }
    let end = after_wake.unwrap_or(start + SPIN_LONG);
    spin_long(start, end, deadline, ready)
}

/// A waker's brief busy-wait before a wake-up call: polls `ready` for [`SPIN_SHORT`] steps
/// (about 0.4 us; a wake-up call costs microseconds) and says whether it turned true. No
/// spinning on a single CPU; under loom exactly one look, so that the models cover both
/// outcomes.
#[inline]
pub(crate) fn spin_briefly(mut ready: impl FnMut() -> bool) -> bool {
    if cfg!(threadkit_loom) {
        return ready();
    }
    may_spin() && !sharing() && poll_short(&mut ready)
}

/// [`SPIN_SHORT`] busy-wait steps, each followed by a look at `ready`: the short part of every
/// spin, a waiter's and a waker's.
#[inline]
fn poll_short(ready: &mut impl FnMut() -> bool) -> bool {
    for _ in 0..SPIN_SHORT {
        spin_hint();
        if ready() {
            return true;
        }
    }
    false
}

/// The long part of [`spin`], from `start` until `end`: looking at the clock every
/// [`STEPS_PER_LOOK`] steps, and giving up at once when a look finds that the spinner lost
/// its CPU since the last one.
#[inline(never)]
fn spin_long(
    start: Instant,
    end: Instant,
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> bool,
) -> Result<(), Spun> {
    let end = deadline.map_or(end, |d| d.min(end));
    let mut last = start;
    loop {
        for _ in 0..STEPS_PER_LOOK {
            spin_hint();
            if ready() {
                caught(true);
                return Ok(());
            }
        }
        let now = Instant::now();
        let preempted = now.duration_since(last) >= PREEMPTED;
        if preempted || now >= end {
            bet_lost(preempted);
            return Err(Spun {
                start: Some(start),
                gave_up: Some(now),
            });
        }
        last = now;
    }
}

/// Released waiters in flight per CPU (see [`notify_window`](super::notify_window)): enough
/// that when one leaves the lock, every CPU still has another one awake and ready to take it,
/// so no CPU goes idle between two of them (waking an idle CPU is the dearest step of a
/// hand-over: 20-35 us on the 2-CPU virtual machines of `docs/benchmarks-history.md`, against
/// 1-2 us for a switch between two runnable threads), and no more: each one more in flight spins
/// for the lock. Measured on the Firecracker VM (`versus --filter herd`, 3 alternations of
/// 3 runs each, the 32-waiter herd against std): 1 per CPU 0.83-0.91x std's time, 2
/// 0.62-0.68x with 0.72-0.74x its CPU time, 3 0.63-0.64x (CPU 0.79-0.83), 4 0.64-0.68x (CPU
/// 0.86-0.93); 8 0.83-0.92x. On the AMD VM (`versus --filter herd --runs 3`, alternated):
/// 2 per CPU 0.49x (0.47-0.53) in 8 runs, 3 0.45x (0.44-0.47) in 8 (182-184 us a round
/// against 197-215), 4 0.46x in 4; loaded (`--load 2`, 3 alternations) 3 and 2 alike, 0.42x
/// and 0.45x, with the same CPU time per round.
#[cfg_attr(threadkit_loom, allow(dead_code))] // the model sets its window per test
pub(super) const NOTIFY_WINDOW_PER_CPU: u32 = 3;

/// The most released waiters in flight however many CPUs there are: a `notify_all` to
/// hundreds of waiters never makes more than this many compete for the lock.
#[cfg_attr(threadkit_loom, allow(dead_code))]
pub(super) const NOTIFY_WINDOW_MAX: u32 = 16;

#[cfg(all(test, not(threadkit_loom)))]
mod tests;
