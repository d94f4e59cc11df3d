//! Windows threads: `CreateThread` with a stack *reservation* of the requested size.
//!
//! * spawn: the closure is boxed twice so that a thin pointer crosses `CreateThread`
//!   (`spawn_shared` passes its `Arc`'s pointer: no allocation); if the call fails, the
//!   pointer is taken back and dropped here, so a failed spawn leaks nothing.
//! * join: `WaitForSingleObject` then `CloseHandle`; detach (and `Drop`): `CloseHandle`.
//! * names: `SetThreadDescription` (Windows 10 1607+), looked up at run time so that the
//!   binary still loads on older systems; the name is converted to UTF-16 on the stack.

use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::io;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, HANDLE, WAIT_OBJECT_0};
#[cfg(not(miri))]
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Performance::{QueryPerformanceCounter, QueryPerformanceFrequency};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
use windows_sys::Win32::System::Threading::{
    CreateThread, GetCurrentThread, GetCurrentThreadId, GetThreadTimes, INFINITE,
    STACK_SIZE_PARAM_IS_A_RESERVATION, Sleep, SwitchToThread, WaitForSingleObject,
};

/// Windows has no short limit on thread descriptions; this bounds the stack buffer.
pub const MAX_NAME_LEN: usize = 255;

/// A thread handle that has not been joined or closed yet. Dropping it closes the handle
/// (detaching the thread).
#[derive(Debug)]
pub struct Handle {
    /// Null once joined.
    h: HANDLE,
}

// SAFETY: a thread HANDLE is a kernel object reference usable from any thread.
unsafe impl Send for Handle {}
// SAFETY: `Handle` offers no `&self` operation at all.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.h.is_null() {
            // SAFETY: `h` is an open thread handle owned by us, closed exactly once.
            unsafe { CloseHandle(self.h) };
        }
    }
}

/// A thread entry point: takes ownership of its argument.
type Entry = unsafe extern "system" fn(*mut c_void) -> u32;

/// The entry of [`spawn`](super::spawn).
pub(super) unsafe extern "system" fn boxed_start(arg: *mut c_void) -> u32 {
    // SAFETY: `arg` comes from `spawn`, through a successful `start` (`run_boxed`'s contract).
    unsafe { super::run_boxed(arg) };
    0
}

/// The entry of [`spawn_shared`](super::spawn_shared) for `T`.
pub(super) unsafe extern "system" fn shared_start<T: crate::SharedMain>(arg: *mut c_void) -> u32 {
    // SAFETY: `arg` comes from `spawn_shared::<T>`, through a successful `start`
    // (`run_shared`'s contract).
    unsafe { super::run_shared::<T>(arg) };
    0
}

/// Creates a thread running `entry(arg)`. On failure no thread exists, so `arg` is still the
/// caller's.
pub(super) fn start(stack_size: usize, entry: Entry, arg: *mut c_void) -> io::Result<Handle> {
    let stack = if stack_size == 0 {
        0
    } else {
        let g = min_stack_size();
        stack_size
            .max(g)
            .checked_next_multiple_of(g)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size too large"))?
    };
    // SAFETY: no security attributes; `entry` has the "system" ABI and takes ownership of
    // `arg` only if the call succeeds; a null thread-id pointer is allowed.
    let h = unsafe {
        CreateThread(
            core::ptr::null(),
            stack,
            Some(entry),
            arg,
            STACK_SIZE_PARAM_IS_A_RESERVATION,
            core::ptr::null_mut(),
        )
    };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    Ok(Handle { h })
}

pub fn join(mut h: Handle) -> io::Result<()> {
    let raw = core::mem::replace(&mut h.h, core::ptr::null_mut());
    // SAFETY: `raw` is an open thread handle owned by us.
    let r = unsafe { WaitForSingleObject(raw, INFINITE) };
    let e = (r != WAIT_OBJECT_0).then(io::Error::last_os_error);
    // SAFETY: `raw` is open and closed exactly once (the handle now holds null).
    unsafe { CloseHandle(raw) };
    e.map_or(Ok(()), Err)
}

pub fn native_id() -> u64 {
    // SAFETY: GetCurrentThreadId has no preconditions; it reads the TEB (no syscall).
    let id = u64::from(unsafe { GetCurrentThreadId() });
    // Real thread ids are never 0 (that is the idle process); Miri numbers threads from 0.
    if cfg!(miri) { id + 1 } else { id }
}

type SetDescription = unsafe extern "system" fn(HANDLE, *const u16) -> i32;

/// `SetThreadDescription` (Miri implements it by name, but not `GetModuleHandleW`).
#[cfg(miri)]
fn set_description() -> Option<SetDescription> {
    Some(windows_sys::Win32::System::Threading::SetThreadDescription)
}

/// "kernel32.dll" as NUL-terminated UTF-16, built at compile time: the first thread to be
/// named (a new thread, at its entry) must not allocate for the lookup.
#[cfg(not(miri))]
static KERNEL32: [u16; 13] = ascii_wide(b"kernel32.dll\0");

/// ASCII to UTF-16, at compile time (also for `futex/windows.rs`).
#[cfg(not(miri))]
pub(crate) const fn ascii_wide<const N: usize>(s: &[u8; N]) -> [u16; N] {
    let mut w = [0u16; N];
    let mut i = 0;
    while i < N {
        w[i] = s[i] as u16;
        i += 1;
    }
    w
}

/// `SetThreadDescription`, or `None` before Windows 10 1607.
#[cfg(not(miri))]
fn set_description() -> Option<SetDescription> {
    static CACHE: AtomicUsize = AtomicUsize::new(0); // 0: unknown, 1: missing, else the fn
    let mut p = CACHE.load(Ordering::Acquire);
    if p == 0 {
        // SAFETY: the module name is NUL-terminated UTF-16; kernel32 is always loaded.
        let m = unsafe { GetModuleHandleW(KERNEL32.as_ptr()) };
        // SAFETY: `m` is null or a loaded module; the name is NUL-terminated.
        let f = (!m.is_null())
            .then(|| unsafe { GetProcAddress(m, c"SetThreadDescription".as_ptr().cast()) })
            .flatten();
        p = f.map_or(1, |f| f as usize);
        CACHE.store(p, Ordering::Release);
    }
    // SAFETY: `p` (if not 1) came from GetProcAddress("SetThreadDescription"), whose signature
    // is `HRESULT (HANDLE, PCWSTR)`.
    (p != 1).then(|| unsafe { core::mem::transmute::<usize, SetDescription>(p) })
}

pub fn set_current_name(name: &str) {
    let name = name.split('\0').next().unwrap_or("");
    let mut end = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let mut buf = [0u16; MAX_NAME_LEN + 1];
    for (slot, unit) in buf.iter_mut().zip(name[..end].encode_utf16()) {
        *slot = unit;
    }
    if let Some(f) = set_description() {
        // SAFETY: the pseudo-handle names the calling thread; `buf` is NUL-terminated (at
        // most MAX_NAME_LEN UTF-16 units are written, since each unit takes >= 1 byte).
        unsafe { f(GetCurrentThread(), buf.as_ptr()) };
    }
}

pub fn yield_now() {
    if cfg!(miri) {
        // Miri lacks SwitchToThread; `Sleep(0)` also gives up the time slice.
        // SAFETY: Sleep has no preconditions.
        unsafe { Sleep(0) };
    } else {
        // SAFETY: SwitchToThread has no preconditions.
        unsafe { SwitchToThread() };
    }
}

pub fn monotonic_nanos() -> u64 {
    let (mut count, mut freq) = (0i64, 0i64);
    // SAFETY: both point to writable i64s; the calls cannot fail on Windows XP and later.
    unsafe {
        QueryPerformanceCounter(&mut count);
        QueryPerformanceFrequency(&mut freq);
    }
    let (count, freq) = (count.max(0) as u128, freq.max(1) as u128);
    u64::try_from(count * 1_000_000_000 / freq).unwrap_or(u64::MAX)
}

pub fn sleep(dur: Duration) {
    let Some(deadline) = Instant::now().checked_add(dur) else {
        loop {
            // SAFETY: Sleep has no preconditions.
            unsafe { Sleep(INFINITE - 1) };
        }
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        // SAFETY: Sleep has no preconditions.
        unsafe { Sleep(crate::time::millis_up(deadline - now)) };
    }
}

pub fn thread_cpu_time() -> Duration {
    if cfg!(miri) {
        // Miri has no GetThreadTimes (nor any thread CPU clock): "the OS cannot say".
        return Duration::ZERO;
    }
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut c, mut e, mut k, mut u) = (zero, zero, zero, zero);
    // SAFETY: the pseudo-handle names the calling thread; the four FILETIMEs are writable.
    let ok = unsafe { GetThreadTimes(GetCurrentThread(), &mut c, &mut e, &mut k, &mut u) };
    if ok == 0 {
        return Duration::ZERO;
    }
    let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    let hundred_ns = ticks(k) + ticks(u);
    Duration::new(
        hundred_ns / 10_000_000,
        (hundred_ns % 10_000_000) as u32 * 100,
    )
}

fn system_info() -> SYSTEM_INFO {
    // SAFETY: SYSTEM_INFO is plain data; all-zero is a valid value.
    let mut si: SYSTEM_INFO = unsafe { core::mem::zeroed() };
    // SAFETY: `si` is writable.
    unsafe { GetSystemInfo(&mut si) };
    si
}

/// The allocation granularity (64 KiB): stack reservations are rounded to it anyway.
pub fn min_stack_size() -> usize {
    (system_info().dwAllocationGranularity as usize).max(page_size())
}

pub fn page_size() -> usize {
    static CACHE: AtomicUsize = AtomicUsize::new(0);
    let mut n = CACHE.load(Ordering::Relaxed);
    if n == 0 {
        n = (system_info().dwPageSize as usize).max(4096);
        CACHE.store(n, Ordering::Relaxed);
    }
    n
}

pub fn cpu_count() -> usize {
    (system_info().dwNumberOfProcessors as usize).max(1)
}

unsafe extern "C" {
    /// The C runtime's exit-hook registration (ucrt / msvcrt).
    fn atexit(f: extern "C" fn()) -> core::ffi::c_int;
}

/// Any mark but 0 for the registration lock's holder: Windows has no `fork`, so a held lock is
/// always held by a thread of this process.
pub(super) fn process_id() -> u32 {
    1
}

pub fn at_exit(f: extern "C" fn()) {
    // SAFETY: `f` is a plain `extern "C" fn()` that lives for the whole program.
    unsafe { atexit(f) };
}

/// Windows has no `fork`: there is never a child to prepare for.
pub fn at_fork(_: extern "C" fn(), _: extern "C" fn(), _: extern "C" fn()) -> io::Result<()> {
    Ok(())
}
