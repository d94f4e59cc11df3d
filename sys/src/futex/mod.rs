//! Futex-style wait/wake: one portable contract, one file per OS.
//!
//! The contract (every backend keeps it exactly):
//!
//! * [`wait`] sleeps only while `*atom == expected`; it returns `false` only when `deadline` has
//!   passed, and may return `true` spuriously (callers re-check their state in a loop). A signal
//!   (`EINTR`) never ends a wait early: the backend retries with the time that remains.
//! * [`wake_one`] / [`wake_n`] / [`wake_all`] take a raw pointer and never dereference it in user space, so
//!   waking an address whose owner is gone is harmless (at worst a spurious wake-up elsewhere).
//! * [`requeue_one`] moves at most one sleeper from one word to another without waking it,
//!   where the OS can (Linux); elsewhere it wakes that sleeper instead ([`REQUEUE_MOVES`] tells
//!   which).

use core::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;
#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod imp;
#[cfg(target_os = "freebsd")]
#[path = "freebsd.rs"]
mod imp;

/// `true` where [`requeue_one`] really moves a sleeper to the other word without waking it
/// (Linux outside Miri); `false` where it wakes the sleeper instead. CPython's
/// `Condition.notify` has no such trick: it wakes its waiters' private locks one by one.
///
/// ```
/// if threadkit_sys::REQUEUE_MOVES {
///     println!("notify can move waiters onto the lock word without waking them");
/// }
/// ```
pub const REQUEUE_MOVES: bool = imp::REQUEUE_MOVES;

/// Sleeps while `*atom == expected`, until woken or until `deadline` (`None`: no deadline).
///
/// Returns `false` only if the deadline has passed; `true` otherwise, including spuriously.
/// Signals never shorten the wait. This is the sleeping half of every blocking call in
/// Python's `threading` (CPython parks on a futex-like word in `PyMutex` / `_PyParkingLot`).
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// use std::time::{Duration, Instant};
/// let word = AtomicU32::new(1);
/// // The value is not the expected one: returns at once.
/// assert!(threadkit_sys::wait(&word, 0, None));
/// // Nobody wakes us: `false` once the deadline has passed, never before.
/// let deadline = Instant::now() + Duration::from_millis(5);
/// while threadkit_sys::wait(&word, 1, Some(deadline)) {}
/// assert!(Instant::now() >= deadline);
/// ```
#[inline]
pub fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    // A stale value needs no syscall; the result is what the OS would say (a passed deadline
    // still reports `false`, exactly as every backend does). Relaxed: callers re-read their
    // state with the ordering they need, and the OS compares again under its own lock anyway.
    if atom.load(Ordering::Relaxed) != expected {
        return deadline.is_none_or(|d| Instant::now() < d);
    }
    imp::wait(atom, expected, deadline)
}

/// Wakes at most one thread sleeping in [`wait`] on `atom` (the OS half of Python's
/// `Lock.release` or `Condition.notify(1)`); under Wine, every one (see [`wakes_exactly`]).
///
/// `atom` is only used as an address: it may dangle.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// let word = AtomicU32::new(0);
/// word.store(1, Ordering::Release); // change the state first...
/// threadkit_sys::wake_one(&word); // ...then wake a sleeper (harmless if there is none)
/// ```
#[inline]
pub fn wake_one(atom: *const AtomicU32) {
    imp::wake_one(atom)
}

/// Wakes at most `n` threads sleeping in [`wait`] on `atom`, in one system call where the OS
/// has one for it (the OS half of Python's `Semaphore.release(n)`); `n == 0` does nothing.
///
/// Linux: one `FUTEX_WAKE` with count `n`; FreeBSD: one `UMTX_OP_WAKE_PRIVATE` with count `n`
/// (both clamp `n` to `i32::MAX`). Windows and macOS have no "wake n" call: up to
/// [`WAKE_N_LOOP_MAX`] it is that many single wakes (one call each); above, a single wake-all,
/// which may wake more than `n` (a sleeper woken without cause sees a spurious return, which the
/// contract of [`wait`] allows; callers re-check their state).
///
/// `atom` is only used as an address: it may dangle.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// let units = AtomicU32::new(0);
/// units.store(3, Ordering::Release); // three units for three sleepers...
/// threadkit_sys::wake_n(&units, 3); // ...woken with one system call on Linux
/// ```
#[inline]
pub fn wake_n(atom: *const AtomicU32, n: usize) {
    match n {
        0 => {}
        1 => imp::wake_one(atom),
        _ => imp::wake_n(atom, n),
    }
}

/// Whether [`wake_one`] wakes at most one sleeper and [`wake_n`] at most `n` (up to
/// [`WAKE_N_LOOP_MAX`]): everywhere but under Wine. Wine's `WakeByAddressAll` (8.0) leaves the
/// threads it woke queued until they run, and a single wake made meanwhile can go to one of
/// them, already awake, instead of a sleeper: a lost wake-up. So under Wine every wake wakes
/// every sleeper of the address; the woken re-check their state, as after any spurious return.
///
/// ```
/// if !threadkit_sys::wakes_exactly() {
///     println!("under Wine: a single wake wakes every sleeper");
/// }
/// ```
pub fn wakes_exactly() -> bool {
    #[cfg(windows)]
    return !imp::under_wine();
    #[cfg(not(windows))]
    true
}

/// Above this count, [`wake_n`] on Windows and macOS (which have no "wake n" call) wakes every
/// sleeper with one call instead of making `n` calls; on Linux and FreeBSD it is unused (one call
/// with the exact count).
///
/// ```
/// assert!(threadkit_sys::WAKE_N_LOOP_MAX >= 1);
/// ```
pub const WAKE_N_LOOP_MAX: usize = 8;

/// Wakes every thread sleeping in [`wait`] on `atom` (the OS half of Python's `Event.set`
/// or `Condition.notify_all`).
///
/// `atom` is only used as an address: it may dangle.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// let flag = AtomicU32::new(0);
/// flag.store(1, Ordering::Release);
/// threadkit_sys::wake_all(&flag);
/// ```
#[inline]
pub fn wake_all(atom: *const AtomicU32) {
    imp::wake_all(atom)
}

/// If `*from == expected`, moves one thread sleeping on `from` so that it sleeps on `to`
/// instead, without waking it (Linux: `FUTEX_CMP_REQUEUE` with 0 woken, 1 requeued). Where the
/// OS cannot requeue, or the value differs, it wakes one sleeper of `from` instead.
///
/// # Safety
///
/// `from` must point to a live `AtomicU32` for the duration of the call (the kernel reads it to
/// compare with `expected`). `to` is only used as an address.
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// let (condition, lock) = (AtomicU32::new(0), AtomicU32::new(0));
/// // SAFETY: `condition` is alive for the whole call.
/// unsafe { threadkit_sys::requeue_one(&condition, 0, &lock) };
/// ```
#[inline]
pub unsafe fn requeue_one(from: *const AtomicU32, expected: u32, to: *const AtomicU32) {
    // SAFETY: the caller guarantees that `from` is live for the call.
    unsafe { imp::requeue_one(from, expected, to) }
}
