//! Unix threads (Linux, Android, macOS, FreeBSD): `pthread_create` with an explicit stack size.
//!
//! * spawn: the closure is boxed twice so that a thin pointer crosses `pthread_create`
//!   (`spawn_shared` passes its `Arc`'s pointer: no allocation); if the call fails, the
//!   pointer is taken back and dropped here, so a failed spawn leaks nothing.
//! * stack size: rounded up to the page size and to the real minimum. On glibc that minimum is
//!   `__pthread_get_minstack(attr)` (it includes the static TLS block and the guard page), found
//!   at run time with `dlsym` because it is a private symbol; elsewhere `PTHREAD_STACK_MIN`.
//! * Under Miri, `pthread_create` gets a null attr (the only form Miri supports).
//! * at_fork: `pthread_atfork` (a no-op under Miri, which cannot fork).

use core::ffi::{c_char, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::io;
use std::time::Duration;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub const MAX_NAME_LEN: usize = 15;
#[cfg(target_os = "macos")]
pub const MAX_NAME_LEN: usize = 63;
#[cfg(target_os = "freebsd")]
pub const MAX_NAME_LEN: usize = 19;

/// A joinable pthread. Dropping it detaches the thread.
#[derive(Debug)]
pub struct Handle {
    /// `None` once joined (so that `Drop` does not detach a joined thread).
    id: Option<libc::pthread_t>,
}

// SAFETY: a pthread_t (an integer or an opaque pointer, depending on the OS) may be joined or
// detached from any thread.
unsafe impl Send for Handle {}
// SAFETY: `Handle` offers no `&self` operation at all.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            // SAFETY: `id` is a thread that was started joinable and was neither joined nor
            // detached (both take the id out of `self.id`).
            unsafe { libc::pthread_detach(id) };
        }
    }
}

/// A thread entry point: takes ownership of its argument.
type Entry = extern "C" fn(*mut c_void) -> *mut c_void;

/// The entry of [`spawn`](super::spawn).
pub(super) extern "C" fn boxed_start(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` comes from `spawn`, through a successful `start` (`run_boxed`'s contract).
    unsafe { super::run_boxed(arg) };
    core::ptr::null_mut()
}

/// The entry of [`spawn_shared`](super::spawn_shared) for `T`.
pub(super) extern "C" fn shared_start<T: crate::SharedMain>(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` comes from `spawn_shared::<T>`, through a successful `start`
    // (`run_shared`'s contract).
    unsafe { super::run_shared::<T>(arg) };
    core::ptr::null_mut()
}

/// Rounds `n` up to a multiple of `page` (a power of two), or `None` on overflow.
fn round_up(n: usize, page: usize) -> Option<usize> {
    Some(n.checked_add(page - 1)? & !(page - 1))
}

fn err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// Creates a thread running `entry(arg)`. On failure no thread exists, so `arg` is still the
/// caller's.
pub(super) fn start(stack_size: usize, entry: Entry, arg: *mut c_void) -> io::Result<Handle> {
    let page = page_size();
    let stack = if stack_size == 0 {
        0
    } else {
        // glibc carves the static TLS block out of the requested stack: add it back, so that
        // the thread can really use the `stack_size` bytes it asked for.
        stack_size
            .max(libc::PTHREAD_STACK_MIN)
            .checked_add(tls_overhead())
            .and_then(|n| round_up(n.max(min_stack_size()), page))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "stack size overflows when rounded",
                )
            })?
    };
    let mut id = core::mem::MaybeUninit::<libc::pthread_t>::uninit();
    let r = if cfg!(miri) {
        // SAFETY: `id` is writable; a null attr asks for the defaults; `entry` has the right
        // ABI and takes ownership of `arg` only if the call succeeds.
        unsafe { libc::pthread_create(id.as_mut_ptr(), core::ptr::null(), entry, arg) }
    } else {
        create_with_stack(id.as_mut_ptr(), stack, entry, arg)
    };
    if r != 0 {
        return Err(err(r));
    }
    // SAFETY: pthread_create succeeded, so it wrote the new thread's id.
    let id = unsafe { id.assume_init() };
    Ok(Handle { id: Some(id) })
}

/// `pthread_create` with an attr carrying `stack` (0: leave the default). Returns the error code.
fn create_with_stack(
    id: *mut libc::pthread_t,
    stack: usize,
    entry: Entry,
    arg: *mut c_void,
) -> i32 {
    let mut attr = core::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `attr` is writable storage for an attr object.
    let r = unsafe { libc::pthread_attr_init(attr.as_mut_ptr()) };
    if r != 0 {
        return r;
    }
    let attr = attr.as_mut_ptr();
    let mut r = 0;
    if stack != 0 {
        // SAFETY: `attr` was initialised above.
        r = unsafe { libc::pthread_attr_setstacksize(attr, stack) };
    }
    if r == 0 {
        // SAFETY: `id` is writable (caller), `attr` is initialised, `entry` has the pthread
        // ABI and takes ownership of `arg` only if the call succeeds.
        r = unsafe { libc::pthread_create(id, attr, entry, arg) };
    }
    // SAFETY: `attr` was initialised and is destroyed exactly once.
    unsafe { libc::pthread_attr_destroy(attr) };
    r
}

pub fn join(mut h: Handle) -> io::Result<()> {
    let Some(id) = h.id.take() else {
        return Ok(());
    };
    // SAFETY: `id` is a joinable thread not yet joined or detached (taken out of the handle,
    // so `Drop` will not detach it).
    let r = unsafe { libc::pthread_join(id, core::ptr::null_mut()) };
    if r == 0 { Ok(()) } else { Err(err(r)) }
}

pub fn native_id() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        super::tid::current()
    }
    #[cfg(target_os = "macos")]
    {
        let mut tid = 0u64;
        // SAFETY: a null thread means the calling thread; `tid` is writable.
        unsafe { libc::pthread_threadid_np(0, &mut tid) };
        tid
    }
    #[cfg(target_os = "freebsd")]
    {
        // SAFETY: pthread_getthreadid_np has no preconditions (FreeBSD 9+).
        (unsafe { libc::pthread_getthreadid_np() }) as u64
    }
}

/// Copies `name` into a NUL-terminated buffer: cut at an interior NUL, then truncated to
/// `MAX_NAME_LEN` bytes on a char boundary.
fn name_buf(name: &str) -> [u8; MAX_NAME_LEN + 1] {
    let name = name.split('\0').next().unwrap_or("");
    let mut end = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let mut buf = [0u8; MAX_NAME_LEN + 1];
    buf[..end].copy_from_slice(&name.as_bytes()[..end]);
    buf
}

pub fn set_current_name(name: &str) {
    let buf = name_buf(name);
    let p = buf.as_ptr().cast::<c_char>();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: `p` is a NUL-terminated string of at most 15 bytes + NUL; pthread_self is live.
    unsafe {
        libc::pthread_setname_np(libc::pthread_self(), p);
    }
    #[cfg(target_os = "macos")]
    // SAFETY: `p` is a NUL-terminated string of at most 63 bytes + NUL (macOS names only the
    // calling thread).
    unsafe {
        libc::pthread_setname_np(p);
    }
    #[cfg(all(target_os = "freebsd", not(miri)))]
    // SAFETY: `p` is a NUL-terminated string; pthread_self is live. (pthread_set_name_np
    // exists on every FreeBSD; it truncates to MAXCOMLEN = 19 bytes itself.)
    unsafe {
        libc::pthread_set_name_np(libc::pthread_self(), p);
    }
    #[cfg(all(target_os = "freebsd", miri))]
    // SAFETY: as above; Miri implements only the newer (FreeBSD 12.2+) spelling.
    unsafe {
        libc::pthread_setname_np(libc::pthread_self(), p);
    }
}

pub fn yield_now() {
    // SAFETY: sched_yield has no preconditions.
    unsafe { libc::sched_yield() };
}

#[allow(clippy::useless_conversion)] // time_t and c_long are i32 on some targets
pub fn monotonic_nanos() -> u64 {
    let Some(ts) = crate::time::clock_now(libc::CLOCK_MONOTONIC) else {
        debug_assert!(false, "CLOCK_MONOTONIC refused");
        return 0;
    };
    let secs = u64::try_from(i64::from(ts.tv_sec)).unwrap_or(0);
    let nanos = u64::try_from(i64::from(ts.tv_nsec)).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

pub fn sleep(dur: Duration) {
    let mut secs = dur.as_secs();
    let mut nsecs = dur.subsec_nanos() as libc::c_long;
    while secs > 0 || nsecs > 0 {
        // time_t may be 32 bits: sleep in chunks that fit.
        let chunk = secs.min(libc::time_t::MAX as u64);
        let mut ts = libc::timespec {
            tv_sec: chunk as libc::time_t,
            tv_nsec: nsecs,
        };
        secs -= chunk;
        nsecs = 0;
        loop {
            let mut rest = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `ts` and `rest` are valid timespecs.
            let r = unsafe { libc::nanosleep(&ts, &mut rest) };
            if r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
            // Interrupted by a signal: sleep for what remains.
            ts = rest;
        }
    }
}

pub fn thread_cpu_time() -> Duration {
    match crate::time::clock_now(libc::CLOCK_THREAD_CPUTIME_ID) {
        Some(ts) => Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
        None => Duration::ZERO,
    }
}

/// Cached results (0: not computed yet).
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
static MIN_STACK: AtomicUsize = AtomicUsize::new(0);

pub fn page_size() -> usize {
    let cached = PAGE_SIZE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let n = if n > 0 { n as usize } else { 4096 };
    PAGE_SIZE.store(n, Ordering::Relaxed);
    n
}

pub fn min_stack_size() -> usize {
    let cached = MIN_STACK.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    let n = round_up(os_min_stack().max(libc::PTHREAD_STACK_MIN), page_size())
        .unwrap_or(libc::PTHREAD_STACK_MIN);
    MIN_STACK.store(n, Ordering::Relaxed);
    n
}

/// What the C library takes out of a requested stack for the thread's static TLS block (glibc:
/// `__pthread_get_minstack` less `PTHREAD_STACK_MIN` and the guard page; 0 elsewhere, where
/// TLS does not live on the thread's stack).
fn tls_overhead() -> usize {
    min_stack_size().saturating_sub(libc::PTHREAD_STACK_MIN + page_size())
}

/// glibc: `__pthread_get_minstack(attr)` = PTHREAD_STACK_MIN + static TLS + guard page. It is a
/// GLIBC_PRIVATE symbol, so it is looked up at run time and may be missing (musl, old glibc).
#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
fn os_min_stack() -> usize {
    type GetMinStack = unsafe extern "C" fn(*const libc::pthread_attr_t) -> libc::size_t;
    // SAFETY: RTLD_DEFAULT searches the loaded objects; the name is NUL-terminated.
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__pthread_get_minstack".as_ptr()) };
    if f.is_null() {
        return 0;
    }
    // SAFETY: glibc defines `size_t __pthread_get_minstack(const pthread_attr_t *)`.
    let f: GetMinStack = unsafe { core::mem::transmute::<*mut c_void, GetMinStack>(f) };
    let mut attr = core::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `attr` is writable storage for an attr object.
    if unsafe { libc::pthread_attr_init(attr.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: `attr` is initialised; `f` has the declared signature.
    let n = unsafe { f(attr.as_ptr()) };
    // SAFETY: `attr` was initialised and is destroyed once.
    unsafe { libc::pthread_attr_destroy(attr.as_mut_ptr()) };
    n
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
fn os_min_stack() -> usize {
    0
}

pub fn cpu_count() -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
        let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
        // The process's set, not the calling thread's: `getpid()` names the main thread, whose
        // mask is the one a whole-process `taskset` or cpuset gives; a worker thread pinned to
        // one CPU (a runtime's, a benchmark's) must not make the process look single-CPU.
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        // SAFETY: `set` is writable and its size is passed.
        let r = unsafe { libc::sched_getaffinity(pid, size_of::<libc::cpu_set_t>(), &mut set) };
        if r == 0 {
            // SAFETY: `set` was filled by sched_getaffinity.
            let n = unsafe { libc::CPU_COUNT(&set) };
            if n > 0 {
                return n as usize;
            }
        }
    }
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 { n as usize } else { 1 }
}

/// This process's id (never 0): tells the registration lock's holder in this process from one
/// in the process this one was forked from.
pub(super) fn process_id() -> u32 {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    pid.unsigned_abs()
}

pub fn at_exit(f: extern "C" fn()) {
    // SAFETY: `f` is a plain `extern "C" fn()` that lives for the whole program. atexit only
    // fails when out of memory for its table; nothing useful can be done about that here.
    unsafe { libc::atexit(f) };
}

#[cfg(not(miri))]
pub fn at_fork(
    prepare: extern "C" fn(),
    parent: extern "C" fn(),
    child: extern "C" fn(),
) -> io::Result<()> {
    // SAFETY: the three are plain `extern "C" fn()`s that live for the whole program; the C
    // library calls them only around `fork`.
    let r = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    if r == 0 { Ok(()) } else { Err(err(r)) }
}

/// Miri cannot fork, so there is nothing to hook.
#[cfg(miri)]
pub fn at_fork(_: extern "C" fn(), _: extern "C" fn(), _: extern "C" fn()) -> io::Result<()> {
    Ok(())
}
