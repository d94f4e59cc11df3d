//! Linux and Android: `futex(2)`.
//!
//! * wait: `FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG` with an absolute `CLOCK_MONOTONIC` deadline,
//!   so a retry after `EINTR` needs no recomputation and can never extend the wait.
//! * wake: `FUTEX_WAKE | FUTEX_PRIVATE_FLAG` with a count of 1, `n` (clamped to `i32::MAX`) or
//!   `i32::MAX`.
//! * requeue: `FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG` (not under Miri, which lacks it).

use core::sync::atomic::AtomicU32;
use std::time::Instant;

pub const REQUEUE_MOVES: bool = !cfg!(miri);

pub fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    let ts = match deadline {
        Some(d) => {
            if Instant::now() >= d {
                return false;
            }
            crate::time::monotonic_timespec(d)
        }
        None => None,
    };
    let ts_ptr = ts
        .as_ref()
        .map_or(core::ptr::null(), |t| t as *const libc::timespec);
    loop {
        // SAFETY: `atom` is a live AtomicU32 (a reference); `ts_ptr` is null or points to a
        // timespec that outlives the call; the other arguments are plain integers.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                atom.as_ptr(),
                libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
                core::ptr::null::<u32>(),
                !0u32, // FUTEX_BITSET_MATCH_ANY
            )
        };
        if r == 0 {
            return true;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ETIMEDOUT) => return false,
            e => {
                // EAGAIN: the value was not `expected`. Anything else (EFAULT, EINVAL, a
                // seccomp filter's ENOSYS) is a bug or a hostile sandbox: the caller would spin.
                debug_assert_eq!(e, Some(libc::EAGAIN), "futex wait failed");
                return true;
            }
        }
    }
}

pub fn wake_one(atom: *const AtomicU32) {
    wake(atom, 1);
}

pub fn wake_n(atom: *const AtomicU32, n: usize) {
    wake(atom, i32::try_from(n).unwrap_or(i32::MAX));
}

pub fn wake_all(atom: *const AtomicU32) {
    wake(atom, i32::MAX);
}

fn wake(atom: *const AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it never reads or writes the memory,
    // so any pointer value is acceptable.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            atom.cast::<u32>().cast_mut(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            n,
        );
    }
}

/// # Safety
/// `from` must be live for the call.
pub unsafe fn requeue_one(from: *const AtomicU32, expected: u32, to: *const AtomicU32) {
    if cfg!(miri) {
        return wake_one(from);
    }
    // SAFETY: the caller guarantees `from` is live (the kernel reads it for the comparison);
    // `to` is only used as a key. nr_wake = 0, nr_requeue = 1 (passed in the timeout slot).
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            from,
            libc::FUTEX_CMP_REQUEUE | libc::FUTEX_PRIVATE_FLAG,
            0,
            1usize,
            to,
            expected,
        )
    };
    if r < 0 {
        // EAGAIN: the value changed; wake the sleeper so that it re-checks.
        wake_one(from);
    }
}
