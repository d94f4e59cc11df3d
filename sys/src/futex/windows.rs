//! Windows 8+: `WaitOnAddress` / `WakeByAddressSingle` / `WakeByAddressAll`.
//!
//! * Timeouts are relative milliseconds: the time left is rounded **up** (a wait never ends
//!   before the deadline because of rounding) and clamped below `INFINITE` (about 49.7 days);
//!   a clamped or early-ending wait just loops with the time that remains from the deadline.
//! * `WaitOnAddress` may return spuriously; it returns at once if the value differs.
//! * No "wake n": `wake_n` is `n` calls of `WakeByAddressSingle` up to `WAKE_N_LOOP_MAX`, one
//!   `WakeByAddressAll` above (which may wake more than `n`: a spurious return for the others).
//! * No requeue: `requeue_one` wakes one sleeper instead.
//! * Under Wine every wake is a `WakeByAddressAll` (see [`under_wine`]).

use core::ffi::c_void;
use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};
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
    wake_n(atom, 1)
}

pub fn wake_n(atom: *const AtomicU32, n: usize) {
    if n > super::WAKE_N_LOOP_MAX || under_wine() {
        return wake_all(atom);
    }
    for _ in 0..n {
        // SAFETY: WakeByAddressSingle only uses the address as a key; it never dereferences it.
        unsafe { WakeByAddressSingle(atom.cast::<c_void>()) }
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

/// Whether the process runs under Wine (its ntdll exports `wine_get_version`), checked once:
/// then every wake is a `WakeByAddressAll` (why: `wakes_exactly` in `mod.rs`). Wine 8.0 (the
/// version of ci/wine.sh) hung a `Lock` whose hand-over woke everybody and whose next unlock
/// woke "one"; `tests/futex.rs` (`wake_one_after_wake_all`) shows the lost wake-up.
pub(super) fn under_wine() -> bool {
    // 0: not looked yet, 1: Windows, 2: Wine.
    static WINE: AtomicU8 = AtomicU8::new(0);
    match WINE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let wine = wine_get_version_exported();
            WINE.store(if wine { 2 } else { 1 }, Ordering::Relaxed);
            wine
        }
    }
}

/// Looks for Wine once before `main` (the C runtime runs `.CRT$XCU` entries on the loading
/// thread before any thread of ours exists), so that no later wake-up calls into the loader,
/// which a thread holding the loader lock (a DLL attach or detach callback) could be waiting
/// on. [`under_wine`] still looks by itself if this did not run.
#[cfg(not(miri))]
#[used]
#[unsafe(link_section = ".CRT$XCU")]
static LOOK_FOR_WINE: extern "C" fn() = look_for_wine;

#[cfg(not(miri))]
extern "C" fn look_for_wine() {
    under_wine();
}

/// Miri implements neither `GetModuleHandleW` nor Wine's quirk.
#[cfg(miri)]
fn wine_get_version_exported() -> bool {
    false
}

#[cfg(not(miri))]
fn wine_get_version_exported() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    /// "ntdll.dll" (no allocation on a wake path).
    static NTDLL: [u16; 10] = crate::thread::ascii_wide(b"ntdll.dll\0");
    // SAFETY: the name is NUL-terminated UTF-16; ntdll is loaded in every Windows process.
    let m = unsafe { GetModuleHandleW(NTDLL.as_ptr()) };
    // SAFETY: `m` is a loaded module (checked non-null); the name is NUL-terminated.
    !m.is_null() && unsafe { GetProcAddress(m, c"wine_get_version".as_ptr().cast()) }.is_some()
}
