//! The seam between the algorithms and the OS.
//!
//! Every primitive in this crate reaches `threadkit-sys` through this module and nothing else:
//! atomics, the futex-style [`wait`]/[`wake_one`]/[`wake_n`]/[`wake_all`]/[`requeue_one`], the calling
//! thread's id, spin hints and timeouts. Under `cfg(loom)` the same names are a model: loom's
//! atomics and a futex built from loom's `Mutex` + `Condvar` keyed by address, in which a
//! sleeper leaves `wait` only when woken (never by polling), so a lost wake-up is a loom
//! deadlock.

use std::time::{Duration, Instant};

/// The longest timeout that is honoured as a timeout; anything longer waits without one.
/// Python's `threading.TIMEOUT_MAX` (about 292 years, the same value as CPython on Linux).
///
/// ```
/// use std::time::Duration;
/// assert!(threadkit::TIMEOUT_MAX > Duration::from_secs(100 * 365 * 24 * 3600));
/// ```
pub const TIMEOUT_MAX: Duration = Duration::from_secs(i64::MAX as u64 / 1_000_000_000);

/// The deadline of a wait of `timeout` starting now; `None` (no deadline) when `timeout` is
/// beyond [`TIMEOUT_MAX`] or beyond what the clock can represent.
#[inline]
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    if timeout > TIMEOUT_MAX {
        return None;
    }
    Instant::now().checked_add(timeout)
}

/// Busy-wait steps every spin starts with, without reading the clock: enough to catch a
/// release that is already under way on another core (10 steps: about 0.4 us here).
const SPIN_SHORT: u32 = 10;

/// How long a spin may last when the primitive's hint says that its releases come from
/// running threads (a ping-pong): a partner that is running answers within a microsecond or
/// two, and a partner that is itself waking from a futex sleep takes 5-10 us on a virtual
/// machine. Never more than this, loaded or not: a spin is a bet that the partner is on a CPU
/// right now, and a lost bet costs this much CPU time on top of the sleep.
const SPIN_LONG: Duration = Duration::from_micros(10);

/// A spinner reads the clock every this many steps (a read costs about one step).
const STEPS_PER_LOOK: u32 = 8;

/// A gap this long between two looks at the clock in one spin (8 steps take well under a
/// microsecond) means the spinner lost its CPU: other runnable work shares this core.
const PREEMPTED: Duration = Duration::from_micros(20);

/// The most long spins a thread skips after lost bets (see [`Bets`]): a lost bet costs
/// [`SPIN_LONG`] of CPU, so where bets keep failing (the partner shares this core, or the
/// machine is busy) they cost at most `SPIN_LONG / 64` per wait, about 0.15 us.
#[cfg_attr(loom, allow(dead_code))] // no spinning under the model
const SKIP_MAX: u32 = 64;

/// A wait that ended within this time of its start (sleep included) counts as short: a long
/// spin would probably have caught its release, which came before the sleeper noticed it (its
/// own wake-up adds a futex latency).
const SHORT_WAIT: Duration = Duration::from_micros(40);

/// This thread's record of its long spins (bets that the releaser is running on another CPU
/// right now), as exponential backoff: every lost bet doubles the number of long spins the
/// thread skips afterwards (1, 2, 4, ... [`SKIP_MAX`]); a spinner that lost its CPU skips
/// [`SKIP_MAX`] at once; a won bet forgets the losses. Per thread, not per primitive: what
/// decides the bet is where this thread and its partners run and how busy the machine is,
/// which a thread learns from every primitive it waits on.
#[derive(Clone, Copy)]
#[cfg_attr(loom, allow(dead_code))]
struct Bets {
    /// Long spins still to skip.
    skip: u32,
    /// How many long spins the last lost bet made the thread skip (doubled by the next loss).
    penalty: u32,
}

#[cfg(not(loom))]
std::thread_local! {
    static BETS: core::cell::Cell<Bets> =
        const { core::cell::Cell::new(Bets { skip: 0, penalty: 0 }) };
}

/// Whether this thread may make a long spin now (and counts one skip if not).
#[inline]
fn may_bet() -> bool {
    #[cfg(not(loom))]
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
    #[cfg(loom)]
    false
}

/// A long spin caught its release: forget earlier losses.
#[inline]
fn bet_won() {
    #[cfg(not(loom))]
    BETS.with(|b| {
        if b.get().penalty != 0 {
            b.set(Bets {
                skip: 0,
                penalty: 0,
            });
        }
    });
}

/// A long spin ran out (`preempted`: its spinner lost the CPU meanwhile).
#[cold]
fn bet_lost(preempted: bool) {
    #[cfg(not(loom))]
    BETS.with(|b| {
        let penalty = if preempted {
            SKIP_MAX
        } else {
            (b.get().penalty * 2).clamp(1, SKIP_MAX)
        };
        b.set(Bets {
            skip: penalty,
            penalty,
        });
    });
    #[cfg(loom)]
    let _ = preempted;
}

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
    /// take many hops; the thread's own [`Bets`] keep lost bets rare). Under loom always
    /// `true`, so the models cover both hint transitions without a clock.
    #[inline]
    pub(crate) fn was_short(self) -> bool {
        match self.start {
            Some(start) => start.elapsed() < SHORT_WAIT,
            None => cfg!(loom),
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
/// primitive's hint that its last waiter was released by a running thread, and this thread's
/// [`Bets`] allow it.
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
    if cfg!(loom) || !may_spin() {
        return Err(Spun { start: None });
    }
    let start = Instant::now();
    for _ in 0..SPIN_SHORT {
        spin_hint();
        if ready() {
            return Ok(());
        }
    }
    if !long || !may_bet() {
        return Err(Spun { start: Some(start) });
    }
    spin_long(start, deadline, ready)
}

/// The long part of [`spin`], from `start`: up to [`SPIN_LONG`], looking at the clock every
/// [`STEPS_PER_LOOK`] steps, and giving up at once when a look finds that the spinner lost
/// its CPU since the last one.
#[inline(never)]
fn spin_long(
    start: Instant,
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> bool,
) -> Result<(), Spun> {
    let end = start + SPIN_LONG;
    let end = deadline.map_or(end, |d| d.min(end));
    let mut last = start;
    loop {
        for _ in 0..STEPS_PER_LOOK {
            spin_hint();
            if ready() {
                bet_won();
                return Ok(());
            }
        }
        let now = Instant::now();
        let preempted = now.duration_since(last) >= PREEMPTED;
        if preempted || now >= end {
            bet_lost(preempted);
            return Err(Spun { start: Some(start) });
        }
        last = now;
    }
}

/// Released waiters in flight per CPU (see [`notify_window`]): enough that when one leaves
/// the lock, every CPU still has another one awake and ready to take it, so no CPU goes idle
/// between two of them (waking an idle CPU is the dearest step of a hand-over: about 20 us on
/// the 2-CPU virtual machine of `docs/benchmarks.md`, against 1-2 us for a switch between two
/// runnable threads). Measured there: 1 per CPU 0.75x std's herd time, 2 about 0.5x, 4 about
/// 0.45x, more no better.
#[cfg_attr(loom, allow(dead_code))] // the model sets its window per test
const NOTIFY_WINDOW_PER_CPU: u32 = 4;

/// The most released waiters in flight however many CPUs there are: a `notify_all` to
/// hundreds of waiters never makes more than this many compete for the lock.
#[cfg_attr(loom, allow(dead_code))]
const NOTIFY_WINDOW_MAX: u32 = 16;

#[cfg(all(test, not(loom)))]
std::thread_local! {
    /// Unit tests only: how many wake-up calls into `sys` (`wake_*`, `requeue_one`) this
    /// thread has made, so a test can prove that a path makes one system call, or none.
    pub(crate) static WAKE_CALLS: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Counts one wake-up call for `WAKE_CALLS` (unit tests only; nothing otherwise).
#[cfg(not(loom))]
#[inline(always)]
fn count_wake_call() {
    #[cfg(all(test, not(loom)))]
    WAKE_CALLS.with(|c| c.set(c.get() + 1));
}

/// Unit tests only: runs `f` and returns how many wake-up calls into `sys` this thread made
/// meanwhile, with its result.
#[cfg(all(test, not(loom)))]
pub(crate) fn wake_calls_during<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = WAKE_CALLS.with(core::cell::Cell::get);
    let r = f();
    (WAKE_CALLS.with(core::cell::Cell::get) - before, r)
}

#[cfg(not(loom))]
mod real {
    #[allow(unused_imports)]
    pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
    use std::time::Instant;

    /// Sleeps while `*atom == expected`; `false` only when `deadline` has passed.
    #[inline]
    pub(crate) fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
        threadkit_sys::wait(atom, expected, deadline)
    }

    /// Wakes at most one sleeper on `atom` (which may dangle).
    #[inline]
    pub(crate) fn wake_one(atom: *const AtomicU32) {
        super::count_wake_call();
        threadkit_sys::wake_one(atom)
    }

    /// Wakes at most `n` sleepers on `atom` (which may dangle): one system call on Linux and
    /// FreeBSD (see `threadkit_sys::wake_n` for the others).
    #[inline]
    pub(crate) fn wake_n(atom: *const AtomicU32, n: usize) {
        super::count_wake_call();
        threadkit_sys::wake_n(atom, n)
    }

    /// Wakes every sleeper on `atom` (which may dangle).
    #[inline]
    pub(crate) fn wake_all(atom: *const AtomicU32) {
        super::count_wake_call();
        threadkit_sys::wake_all(atom)
    }

    /// Moves one sleeper from `from` to `to` (or wakes it where the OS cannot).
    ///
    /// # Safety
    /// `from` must be live for the call.
    #[inline]
    pub(crate) unsafe fn requeue_one(from: *const AtomicU32, expected: u32, to: *const AtomicU32) {
        super::count_wake_call();
        // SAFETY: forwarded precondition: `from` is live for the call.
        unsafe { threadkit_sys::requeue_one(from, expected, to) }
    }

    /// A cheap id of the calling thread, never 0.
    #[inline]
    pub(crate) fn current_thread_id() -> u64 {
        threadkit_sys::current_id()
    }

    /// One step of a busy-wait.
    #[inline]
    pub(crate) fn spin_hint() {
        core::hint::spin_loop()
    }

    /// Offers the CPU to another runnable thread. Not used by any spin (see `spin`: on a busy
    /// machine a yield can give away a whole timeslice); kept because the loom model has it.
    #[allow(dead_code)]
    #[inline]
    pub(crate) fn yield_now() {
        threadkit_sys::yield_now()
    }

    /// How many CPUs the process may run on (read once, then cached; at least 1).
    #[inline]
    pub(crate) fn cpus() -> u32 {
        use core::sync::atomic::Ordering::Relaxed;
        static CPUS: AtomicU32 = AtomicU32::new(0); // 0: not read yet
        match CPUS.load(Relaxed) {
            0 => {
                let n = u32::try_from(threadkit_sys::cpu_count())
                    .unwrap_or(u32::MAX)
                    .max(1);
                CPUS.store(n, Relaxed);
                n
            }
            n => n,
        }
    }

    /// Whether spinning can help at all: false on a single CPU.
    #[inline]
    pub(crate) fn may_spin() -> bool {
        cpus() > 1
    }

    /// How many notified waiters a `Condition`/`Condvar` notify may have on their way back
    /// into the lock at once (see `waitqueue.rs`, "The tokens"):
    /// [`NOTIFY_WINDOW_PER_CPU`] per CPU, at most [`NOTIFY_WINDOW_MAX`].
    #[inline]
    pub(crate) fn notify_window() -> u32 {
        cpus()
            .saturating_mul(super::NOTIFY_WINDOW_PER_CPU)
            .min(super::NOTIFY_WINDOW_MAX)
    }

    /// The number of busy-wait steps to allow for a named limit `n` (the model uses 1).
    #[inline]
    pub(crate) const fn spin_limit(n: u32) -> u32 {
        n
    }

    /// Measures how long a slow path has been waiting (for starvation limits). Under loom it
    /// counts rounds instead of reading the clock, so the model stays deterministic.
    #[derive(Debug, Default)]
    pub(crate) struct Stopwatch(Option<Instant>);

    impl Stopwatch {
        /// Whether at least `limit` has passed since the first call.
        #[inline]
        pub(crate) fn exceeded(&mut self, limit: std::time::Duration) -> bool {
            self.0.get_or_insert_with(Instant::now).elapsed() >= limit
        }
    }

    /// `UnsafeCell` with loom's closure API, so the same code runs under the model.
    #[derive(Debug, Default)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(v: T) -> Self {
            UnsafeCell(core::cell::UnsafeCell::new(v))
        }
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}
#[cfg(not(loom))]
pub(crate) use real::*;

#[cfg(loom)]
#[path = "wait_loom.rs"]
mod model;
#[cfg(loom)]
pub(crate) use model::*;

/// Declares a constructor that is `const fn` normally and a plain `fn` under loom (whose
/// atomics have no `const` constructor).
macro_rules! loom_const_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $t:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$m])*
        #[cfg(not(loom))]
        $vis const fn $name($($arg: $t),*) -> $ret $body
        $(#[$m])*
        #[cfg(loom)]
        $vis fn $name($($arg: $t),*) -> $ret $body
    };
}
pub(crate) use loom_const_fn;
