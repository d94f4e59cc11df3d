//! FreeBSD: `_umtx_op(2)`.
//!
//! * wait: `UMTX_OP_WAIT_UINT_PRIVATE` with a `struct _umtx_time` holding an **absolute**
//!   `CLOCK_MONOTONIC` deadline (`UMTX_ABSTIME`); the size of that struct goes in `uaddr`, as
//!   the kernel expects. A retry after `EINTR` reuses the same deadline, so it never extends
//!   the wait.
//! * wake: `UMTX_OP_WAKE_PRIVATE` with a count of 1, `n` (clamped to `i32::MAX`) or `i32::MAX`.
//! * No requeue: `requeue_one` wakes one sleeper instead.

use core::ffi::c_void;
use core::sync::atomic::AtomicU32;
use std::time::Instant;

pub const REQUEUE_MOVES: bool = false;

pub fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    let mut time = match deadline {
        Some(d) => {
            if Instant::now() >= d {
                return false;
            }
            crate::time::monotonic_timespec(d).map(|ts| libc::_umtx_time {
                _timeout: ts,
                _flags: libc::UMTX_ABSTIME,
                _clockid: libc::CLOCK_MONOTONIC as u32,
            })
        }
        None => None, // also when the deadline is too far to represent: wait untimed
    };
    let (size, time_ptr) = match time.as_mut() {
        Some(t) => (
            size_of::<libc::_umtx_time>(),
            (t as *mut libc::_umtx_time).cast::<c_void>(),
        ),
        None => (0, core::ptr::null_mut()),
    };
    loop {
        // SAFETY: `atom` is a live AtomicU32 (a reference); `time_ptr` is null or points to a
        // `_umtx_time` that outlives the call, and `size` (passed in `uaddr`, as the kernel
        // wants) is its size.
        let r = unsafe {
            libc::_umtx_op(
                atom.as_ptr().cast::<c_void>(),
                libc::UMTX_OP_WAIT_UINT_PRIVATE,
                libc::c_ulong::from(expected),
                core::ptr::without_provenance_mut::<c_void>(size),
                time_ptr,
            )
        };
        if r == 0 {
            return true; // woken (possibly spuriously), or the value differed
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ETIMEDOUT) => return false, // the absolute deadline has passed
            _ => return true,
        }
    }
}

pub fn wake_one(atom: *const AtomicU32) {
    wake(atom, 1);
}

pub fn wake_n(atom: *const AtomicU32, n: usize) {
    wake(atom, n.min(i32::MAX as usize) as libc::c_ulong);
}

pub fn wake_all(atom: *const AtomicU32) {
    wake(atom, i32::MAX as libc::c_ulong);
}

fn wake(atom: *const AtomicU32, n: libc::c_ulong) {
    // SAFETY: UMTX_OP_WAKE_PRIVATE only uses the address as a key; it never reads or writes
    // the memory, so any pointer value is acceptable.
    unsafe {
        libc::_umtx_op(
            atom.cast_mut().cast::<c_void>(),
            libc::UMTX_OP_WAKE_PRIVATE,
            n,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        );
    }
}

/// # Safety
/// None beyond the portable contract: FreeBSD has no requeue here, so this wakes one sleeper.
pub unsafe fn requeue_one(from: *const AtomicU32, _expected: u32, _to: *const AtomicU32) {
    wake_one(from)
}
