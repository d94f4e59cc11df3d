//! The real backend of the seam (not under `cfg(threadkit_loom)`): core's atomics, `threadkit-sys`'s
//! futex calls, and the CPU count that the spin policy and the notify window read.

pub(crate) use core::sync::atomic::fence;
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

/// How many `fork()`s separate this process from the original one (see
/// `threadkit_sys::fork_generation`): waiter state stamped with an older generation
/// belongs to threads that vanished in the fork. Slow paths only.
#[inline]
pub(crate) fn fork_generation() -> u32 {
    threadkit_sys::fork_generation()
}

/// A cheap id of the calling thread, never 0.
#[inline]
pub(crate) fn current_thread_id() -> u64 {
    threadkit_sys::current_id()
}

/// Steps back for a thread that is a few instructions from finishing something this one
/// needs but may have lost its CPU: sleeps 1 us, 2 us, 4 us, ... (at most about 1 ms) for
/// `round` 0, 1, 2, ... Never a `sched_yield`: on a busy machine that can give a whole
/// timeslice to another process; a sleep frees this CPU for whoever needs it and comes back
/// soon after the other thread has run.
pub(crate) fn nap(round: u32) {
    sleep(std::time::Duration::from_micros(1 << round.min(10)));
}

/// Offers the calling thread's CPU to another runnable thread (`sched_yield`,
/// `SwitchToThread`); only [`yield_to_holder`](super::spin::yield_to_holder) calls it, and at
/// most once per `YIELD_EVERY` (250 us) per thread.
pub(crate) fn yield_now() {
    threadkit_sys::yield_now()
}

/// The process-wide monotonic clock in nanoseconds (through `threadkit_sys`): for times that
/// threads share in an atomic word (`spin/yields.rs`).
pub(crate) fn monotonic_nanos() -> u64 {
    threadkit_sys::monotonic_nanos()
}

/// Sleeps the calling thread for `d` (the OS sleep, through `threadkit_sys`).
pub(crate) fn sleep(d: std::time::Duration) {
    threadkit_sys::sleep(d)
}

/// One step of a busy-wait.
#[inline]
pub(crate) fn spin_hint() {
    core::hint::spin_loop()
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

/// How many busy-wait steps ([`spin_hint`]) take about `ns` nanoseconds on this CPU (at
/// least 1). A step is one `PAUSE` (or the target's equivalent), whose cost differs tenfold
/// between CPUs (about 12 ns on the Intel VM of `docs/benchmarks-history.md`, 30 on the AMD one,
/// 40 and more on other Intel parts, a few on others), so a spin that means to leave a lock's
/// cache line alone for a given time measures its steps once (see [`measure_steps_per_ms`]).
#[inline]
pub(crate) fn steps_for(ns: u32) -> u32 {
    use core::sync::atomic::Ordering::Relaxed;
    // Steps per millisecond; 0: not measured yet. Racing first callers each measure and
    // store a valid figure. (Per millisecond, so that the call divides by a constant.)
    static STEPS_PER_MS: AtomicU32 = AtomicU32::new(0);
    let per_ms = match STEPS_PER_MS.load(Relaxed) {
        0 => {
            let n = measure_steps_per_ms();
            STEPS_PER_MS.store(n, Relaxed);
            n
        }
        n => n,
    };
    u32::try_from(u64::from(ns) * u64::from(per_ms) / 1_000_000)
        .unwrap_or(u32::MAX)
        .max(1)
}

/// The shortest calibration run of [`measure_steps_per_ms`]: long against the clock's
/// resolution (a coarse clock that read 0 would make every step look free, and every spin
/// endless).
const CALIBRATION_MIN: std::time::Duration = std::time::Duration::from_nanos(500);

/// Busy-wait steps per millisecond: from the fastest of three runs of 64 steps (a run the
/// thread was preempted in only comes out slower), with 4 times as many steps while that run
/// is shorter than [`CALIBRATION_MIN`] (at most 2^20 steps). About 2.5 us once per process
/// here.
#[cold]
fn measure_steps_per_ms() -> u32 {
    let mut steps: u32 = 64;
    loop {
        let fastest = (0..3)
            .map(|_| {
                let t0 = Instant::now();
                for _ in 0..steps {
                    spin_hint();
                }
                t0.elapsed()
            })
            .min()
            .unwrap_or_default();
        if fastest >= CALIBRATION_MIN || steps >= 1 << 20 {
            // Between 0.1 ns and 1 us a step: 10^7 to 10^3 steps per millisecond.
            let ns = fastest.as_nanos().max(1);
            return u32::try_from(u128::from(steps) * 1_000_000 / ns)
                .unwrap_or(u32::MAX)
                .clamp(1_000, 10_000_000);
        }
        steps *= 4;
    }
}

/// The clock of deadlines: the monotonic clock.
#[inline]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Whether spinning can help at all: false on a single CPU.
#[inline]
pub(crate) fn may_spin() -> bool {
    cpus() > 1
}

/// Whether `others` threads can all be running beside the caller at once (fewer than the
/// other CPUs there are): a spin that waits for them all to act can only succeed if so, and
/// otherwise holds a CPU one of them needs.
#[inline]
pub(crate) fn fit_beside(others: u32) -> bool {
    others < cpus()
}

/// How many notified waiters a `Condition`/`Condvar` notify may have on their way back
/// into the lock at once (see `sync/waitqueue/mod.rs`, "The tokens"):
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

#[cfg(test)]
mod tests {
    use super::{spin_hint, steps_for};
    use std::time::{Duration, Instant};

    #[test]
    fn steps_for_grows_with_the_time_asked_and_is_never_zero() {
        assert!(steps_for(0) >= 1);
        let (a, b, c) = (steps_for(100), steps_for(10_000), steps_for(1_000_000));
        assert!(a >= 1 && a <= b && b <= c, "{a} {b} {c}");
        assert!(
            c >= 1_000,
            "a step is at most 1 us, so 1 ms is at least 1,000 of them: {c}"
        );
    }

    /// The calibration keeps its fastest run, so the steps it gives take at least about the
    /// time asked (a quarter of it: a CPU may clock up after the calibration).
    #[test]
    fn steps_for_takes_about_the_time_asked() {
        let want = Duration::from_millis(2);
        let n = steps_for(2_000_000);
        let t0 = Instant::now();
        for _ in 0..n {
            spin_hint();
        }
        let took = t0.elapsed();
        assert!(
            took >= want / 4,
            "{n} steps took {took:?}, asked for {want:?}"
        );
    }
}
