//! macOS: `os_sync_wait_on_address` (14.4+), else the private `__ulock_*` calls (10.12+).
//!
//! * The `os_sync_*` functions are looked up with `dlsym` on first use (linking them directly
//!   would stop the binary from loading before macOS 14.4); the pointers are cached in atomics.
//! * Fallback: `__ulock_wait2` (macOS 11+, also looked up; 64-bit nanosecond timeout), else
//!   `__ulock_wait`, whose timeout is a `u32` of microseconds (0 = forever): longer waits are
//!   clamped and simply loop, since the deadline is re-checked after every return.
//! * All timeouts are relative: each retry (after `EINTR`, a clamped wait, or an early timer)
//!   recomputes the time left from the absolute deadline, so a wait ends neither early nor
//!   late by more than the OS's own slack.
//! * Under Miri the `os_sync_*` functions are called directly (Miri implements them by name).
//! * No "wake n" (`os_sync` and `__ulock` wake one or all): `wake_n` is `n` single wakes up to
//!   `WAKE_N_LOOP_MAX`, one wake-all above (which may wake more than `n`: a spurious return for
//!   the others), after one fence.
//! * No requeue: `requeue_one` wakes one sleeper instead.
//! * Every wake starts with a `SeqCst` fence: the caller's store of the new value must be
//!   ordered before the wake looks for sleepers, or a waiter's compare could still read the old
//!   value after a wake that found nobody. The kernel's wake path orders this itself (as
//!   Linux's `futex_wake` does with a full barrier), so on hardware the fence is redundant and
//!   costs nothing next to the system call; Miri's `os_sync_wake_by_address_*` does not order
//!   it when nobody waits, and with the fence Miri checks this backend with weak-memory
//!   emulation on, like the others.

use core::ffi::{c_int, c_void};
#[cfg(not(miri))]
use core::sync::atomic::AtomicUsize;
use core::sync::atomic::{AtomicU32, Ordering, fence};
use std::time::Instant;

pub const REQUEUE_MOVES: bool = false;

#[cfg(not(miri))]
const UL_COMPARE_AND_WAIT: u32 = 1;
#[cfg(not(miri))]
const ULF_WAKE_ALL: u32 = 0x0000_0100;
#[cfg(not(miri))]
const ULF_NO_ERRNO: u32 = 0x0100_0000;

#[cfg(not(miri))]
unsafe extern "C" {
    // Private but stable since macOS 10.12 (libc++ and Rust's std rely on them as well).
    fn __ulock_wait(op: u32, addr: *mut c_void, value: u64, timeout_us: u32) -> c_int;
    fn __ulock_wake(op: u32, addr: *mut c_void, wake_value: u64) -> c_int;
}

/// How one OS wait call ended.
enum Outcome {
    /// Woken, spuriously returned, or the value differed: report `true`.
    Woken,
    /// Timed out or interrupted: re-check the deadline and wait again.
    Again,
}

pub fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    loop {
        // 0 means "no timeout" below.
        let timeout_ns = match deadline {
            None => 0,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                u64::try_from((d - now).as_nanos())
                    .unwrap_or(u64::MAX)
                    .max(1)
            }
        };
        match wait_once(atom, expected, timeout_ns) {
            Outcome::Woken => return true,
            Outcome::Again => continue,
        }
    }
}

#[cfg(miri)]
fn wait_once(atom: &AtomicU32, expected: u32, timeout_ns: u64) -> Outcome {
    let addr = atom.as_ptr().cast::<c_void>();
    let r = if timeout_ns == 0 {
        // SAFETY: `addr` is a live, aligned 4-byte word; size 4 is supported.
        unsafe { libc::os_sync_wait_on_address(addr, expected.into(), 4, 0) }
    } else {
        // SAFETY: as above; the timeout is relative, on the Mach absolute clock.
        unsafe {
            libc::os_sync_wait_on_address_with_timeout(
                addr,
                expected.into(),
                4,
                0,
                libc::OS_CLOCK_MACH_ABSOLUTE_TIME,
                timeout_ns,
            )
        }
    };
    os_sync_outcome(r)
}

/// The `os_sync` convention: `>= 0` woken (or value differed), `-1` with errno otherwise.
fn os_sync_outcome(r: c_int) -> Outcome {
    if r >= 0 {
        return Outcome::Woken;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EINTR | libc::ETIMEDOUT) => Outcome::Again,
        _ => Outcome::Woken,
    }
}

#[cfg(not(miri))]
fn wait_once(atom: &AtomicU32, expected: u32, timeout_ns: u64) -> Outcome {
    let addr = atom.as_ptr().cast::<c_void>();
    let f = fns();
    if let (Some(wait), Some(wait_timeout)) = (f.os_wait, f.os_wait_timeout) {
        let r = if timeout_ns == 0 {
            // SAFETY: `addr` is a live, aligned 4-byte word; size 4 is supported; flags 0.
            unsafe { wait(addr, expected.into(), 4, 0) }
        } else {
            // SAFETY: as above; the timeout is relative, on the Mach absolute clock (which,
            // like `Instant`, does not advance while the machine sleeps).
            unsafe {
                wait_timeout(
                    addr,
                    expected.into(),
                    4,
                    0,
                    libc::OS_CLOCK_MACH_ABSOLUTE_TIME,
                    timeout_ns,
                )
            }
        };
        return os_sync_outcome(r);
    }
    let op = UL_COMPARE_AND_WAIT | ULF_NO_ERRNO;
    let r = if let Some(wait2) = f.ulock_wait2 {
        // SAFETY: `addr` is a live 4-byte word compared with `expected`; 0 = no timeout.
        unsafe { wait2(op, addr, expected.into(), timeout_ns, 0) }
    } else {
        // Round up to whole microseconds; clamp to u32 (about 71 minutes) and loop.
        let us = crate::time::micros_up(std::time::Duration::from_nanos(timeout_ns));
        // SAFETY: `addr` is a live 4-byte word compared with `expected`; 0 = no timeout.
        unsafe { __ulock_wait(op, addr, expected.into(), us) }
    };
    // With ULF_NO_ERRNO, errors come back as `-errno`.
    if r >= 0 || !(r == -libc::EINTR || r == -libc::ETIMEDOUT) {
        Outcome::Woken
    } else {
        Outcome::Again
    }
}

pub fn wake_one(atom: *const AtomicU32) {
    fence(Ordering::SeqCst);
    wake(atom, false)
}

pub fn wake_n(atom: *const AtomicU32, n: usize) {
    fence(Ordering::SeqCst);
    if n > super::WAKE_N_LOOP_MAX {
        return wake(atom, true);
    }
    for _ in 0..n {
        wake(atom, false);
    }
}

pub fn wake_all(atom: *const AtomicU32) {
    fence(Ordering::SeqCst);
    wake(atom, true)
}

#[cfg(miri)]
fn wake(atom: *const AtomicU32, all: bool) {
    let addr = atom.cast_mut().cast::<c_void>();
    // SAFETY: waking only uses the address as a key; it is never dereferenced.
    unsafe {
        if all {
            libc::os_sync_wake_by_address_all(addr, 4, 0);
        } else {
            libc::os_sync_wake_by_address_any(addr, 4, 0);
        }
    }
}

#[cfg(not(miri))]
fn wake(atom: *const AtomicU32, all: bool) {
    let addr = atom.cast_mut().cast::<c_void>();
    let f = fns();
    if let (Some(any), Some(every)) = (f.os_wake_any, f.os_wake_all) {
        let wake = if all { every } else { any };
        // SAFETY: waking only uses the address as a key; it is never dereferenced. (ENOENT,
        // "nobody was waiting", is not an error for us.)
        unsafe { wake(addr, 4, 0) };
        return;
    }
    let op = UL_COMPARE_AND_WAIT | ULF_NO_ERRNO | if all { ULF_WAKE_ALL } else { 0 };
    loop {
        // SAFETY: waking only uses the address as a key; it is never dereferenced.
        let r = unsafe { __ulock_wake(op, addr, 0) };
        if r != -libc::EINTR {
            return; // woken, or -ENOENT: nobody was waiting
        }
    }
}

/// # Safety
/// None beyond the portable contract: macOS cannot requeue, so this wakes one sleeper.
pub unsafe fn requeue_one(from: *const AtomicU32, _expected: u32, _to: *const AtomicU32) {
    wake_one(from)
}

#[cfg(not(miri))]
type OsWait = unsafe extern "C" fn(*mut c_void, u64, usize, u32) -> c_int;
#[cfg(not(miri))]
type OsWaitTimeout = unsafe extern "C" fn(*mut c_void, u64, usize, u32, u32, u64) -> c_int;
#[cfg(not(miri))]
type OsWake = unsafe extern "C" fn(*mut c_void, usize, u32) -> c_int;
#[cfg(not(miri))]
type UlockWait2 = unsafe extern "C" fn(u32, *mut c_void, u64, u64, u64) -> c_int;

/// The functions found at run time (`None`: this macOS does not have it).
#[cfg(not(miri))]
struct Fns {
    os_wait: Option<OsWait>,
    os_wait_timeout: Option<OsWaitTimeout>,
    os_wake_any: Option<OsWake>,
    os_wake_all: Option<OsWake>,
    ulock_wait2: Option<UlockWait2>,
}

/// One cached `dlsym` result per symbol: 0 = not looked up yet, 1 = missing, else the address.
#[cfg(not(miri))]
static CACHE: [AtomicUsize; 5] = [const { AtomicUsize::new(0) }; 5];
#[cfg(not(miri))]
const NAMES: [&core::ffi::CStr; 5] = [
    c"os_sync_wait_on_address",
    c"os_sync_wait_on_address_with_timeout",
    c"os_sync_wake_by_address_any",
    c"os_sync_wake_by_address_all",
    c"__ulock_wait2",
];

#[cfg(not(miri))]
fn lookup(i: usize) -> usize {
    let cached = CACHE[i].load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: RTLD_DEFAULT searches every loaded image; the name is NUL-terminated.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, NAMES[i].as_ptr()) } as usize;
    let p = if p == 0 { 1 } else { p };
    // Racing lookups store the same value, so Relaxed is enough.
    CACHE[i].store(p, Ordering::Relaxed);
    p
}

/// The function at `NAMES[i]`, if this macOS has it.
///
/// # Safety
///
/// `F` must be the function-pointer type of the C signature of `NAMES[i]`.
#[cfg(not(miri))]
unsafe fn get<F: Copy>(i: usize) -> Option<F> {
    const { assert!(size_of::<F>() == size_of::<usize>()) };
    let p = lookup(i);
    // SAFETY: `p` is a non-null address returned by dlsym for NAMES[i], and `F` is a function
    // pointer (pointer-sized, checked above) of that symbol's signature (caller).
    (p != 1).then(|| unsafe { core::mem::transmute_copy::<usize, F>(&p) })
}

#[cfg(not(miri))]
fn fns() -> Fns {
    // SAFETY: each type alias is the C signature of the NAMES entry at the same index.
    unsafe {
        Fns {
            os_wait: get::<OsWait>(0),
            os_wait_timeout: get::<OsWaitTimeout>(1),
            os_wake_any: get::<OsWake>(2),
            os_wake_all: get::<OsWake>(3),
            ulock_wait2: get::<UlockWait2>(4),
        }
    }
}
