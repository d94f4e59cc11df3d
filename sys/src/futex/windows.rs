//! Windows 8+: `WaitOnAddress` / `WakeByAddressSingle` / `WakeByAddressAll`.
//!
//! * Timeouts are relative milliseconds: the time left is rounded **up** (a wait never ends
//!   before the deadline because of rounding) and clamped below `INFINITE` (about 49.7 days);
//!   a clamped or early-ending wait just loops with the time that remains from the deadline.
//! * `WaitOnAddress` may return spuriously; it returns at once if the value differs.
//! * No "wake n": `wake_n` is `n` calls of `WakeByAddressSingle` up to `WAKE_N_LOOP_MAX`, one
//!   `WakeByAddressAll` above (which may wake more than `n`: a spurious return for the others).
//! * No requeue: `requeue_one` wakes one sleeper instead.

use core::ffi::c_void;
use core::sync::atomic::AtomicU32;
use std::time::Instant;

use windows_sys::Win32::Foundation::{ERROR_TIMEOUT, GetLastError};
use windows_sys::Win32::System::Threading::{
    INFINITE, WaitOnAddress, WakeByAddressAll, WakeByAddressSingle,
};

pub const REQUEUE_MOVES: bool = false;

pub fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    loop {
        let ms = match deadline {
            None => INFINITE,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                crate::time::millis_up(d - now)
            }
        };
        // SAFETY: both pointers are valid for 4 bytes (a live AtomicU32 and a local u32);
        // the size is 4, one of the sizes WaitOnAddress accepts.
        let woke = unsafe {
            WaitOnAddress(
                atom.as_ptr().cast::<c_void>(),
                (&raw const expected).cast::<c_void>(),
                size_of::<u32>(),
                ms,
            )
        };
        if woke != 0 {
            return true; // woken (possibly spuriously), or the value differed
        }
        // SAFETY: GetLastError has no preconditions.
        if unsafe { GetLastError() } != ERROR_TIMEOUT || deadline.is_none() {
            return true; // unexpected failure: let the caller re-check its state
        }
        // Timed out: loop, which returns false only once the deadline has really passed.
    }
}

pub fn wake_one(atom: *const AtomicU32) {
    // SAFETY: WakeByAddressSingle only uses the address as a key; it never dereferences it.
    unsafe { WakeByAddressSingle(atom.cast::<c_void>()) }
}

pub fn wake_n(atom: *const AtomicU32, n: usize) {
    if n > super::WAKE_N_LOOP_MAX {
        return wake_all(atom);
    }
    for _ in 0..n {
        wake_one(atom);
    }
}

pub fn wake_all(atom: *const AtomicU32) {
    // SAFETY: WakeByAddressAll only uses the address as a key; it never dereferences it.
    unsafe { WakeByAddressAll(atom.cast::<c_void>()) }
}

/// # Safety
/// None beyond the portable contract: Windows cannot requeue, so this wakes one sleeper.
pub unsafe fn requeue_one(from: *const AtomicU32, _expected: u32, _to: *const AtomicU32) {
    wake_one(from)
}
