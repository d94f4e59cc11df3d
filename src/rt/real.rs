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

/// Whether spinning can help at all: false on a single CPU.
#[inline]
pub(crate) fn may_spin() -> bool {
    cpus() > 1
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
