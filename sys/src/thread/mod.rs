//! Raw OS threads: spawn with an explicit stack size, join, detach, ids, names, yield, sleep,
//! per-thread CPU time and the process hooks (`at_exit`, `at_fork`). One file per OS family,
//! same signatures.

use std::io;
use std::time::Duration;

mod fork_gen;
#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;
mod main_thread;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod tid;

pub use main_thread::{is_main_thread, main_thread_ids, record_main_thread};

#[cfg(all(windows, not(miri)))]
pub(crate) use imp::ascii_wide;

use fork_gen::with_registration_lock;

/// The longest OS thread name, in bytes, that [`set_current_name`] keeps (longer names are
/// truncated on a char boundary): 15 on Linux, 63 on macOS, 19 on FreeBSD, 255 on Windows.
/// Python's `Thread.name` has no limit; only the OS copy is cut.
///
/// ```
/// assert!(threadkit_sys::MAX_NAME_LEN >= 15);
/// ```
pub const MAX_NAME_LEN: usize = imp::MAX_NAME_LEN;

/// A started OS thread that has not been joined or detached yet.
///
/// Dropping it detaches the thread. Python's `_thread` handle behind `Thread.join`.
///
/// ```
/// let t = threadkit_sys::spawn(0, Box::new(|| {})).unwrap();
/// drop(t); // detached: it finishes on its own
/// ```
#[derive(Debug)]
pub struct RawThread(imp::Handle);

/// Starts an OS thread running `main`, with a stack of `stack_size` bytes (0: the platform
/// default). The size is rounded up to the page size and to the OS minimum.
///
/// If `main` panics, the process aborts: callers catch panics themselves before this edge.
/// On failure, returns the OS error and frees everything (the closure is dropped on this thread).
/// Python's `_thread.start_new_thread` with `threading.stack_size()`.
///
/// ```
/// let t = threadkit_sys::spawn(64 * 1024, Box::new(|| { let _ = 1 + 1; })).unwrap();
/// t.join().unwrap();
/// ```
pub fn spawn(stack_size: usize, main: Box<dyn FnOnce() + Send + 'static>) -> io::Result<RawThread> {
    // A thin pointer to the fat closure box crosses the OS entry.
    let arg = Box::into_raw(Box::new(main));
    imp::start(stack_size, imp::boxed_start, arg.cast())
        .map(RawThread)
        .inspect_err(|_| {
            // SAFETY: the thread was not created, so nobody received `arg`: it is still ours.
            drop(unsafe { Box::from_raw(arg) });
        })
}

/// What [`spawn`] passes to the OS entry (as a thin pointer to it).
type Main = Box<dyn FnOnce() + Send + 'static>;

/// The body of `imp::boxed_start`: runs the closure of [`spawn`]; a panic aborts.
///
/// # Safety
/// `arg` is the pointer made by `Box::into_raw` in [`spawn`], handed over to this thread by a
/// successful thread creation; nobody else uses it after that.
unsafe fn run_boxed(arg: *mut core::ffi::c_void) {
    // SAFETY: the caller's contract.
    let main = unsafe { Box::from_raw(arg.cast::<Main>()) };
    run_caught(move || (*main)());
}

/// The body of `imp::shared_start::<T>`: runs [`SharedMain::main`]; a panic aborts.
///
/// # Safety
/// `arg` is the pointer made by `Arc::into_raw` in [`spawn_shared`] for this `T`, handed over
/// with its reference count to this thread by a successful thread creation; nobody else uses
/// that count after that.
unsafe fn run_shared<T: SharedMain>(arg: *mut core::ffi::c_void) {
    // SAFETY: the caller's contract.
    let main = unsafe { std::sync::Arc::from_raw(arg.cast_const().cast::<T>()) };
    run_caught(move || main.main());
}

/// Runs a thread's body; a panic aborts (it must never unwind into the OS entry point).
fn run_caught(f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        std::process::abort();
    }
}

/// A thread body kept in an [`Arc`](std::sync::Arc), for [`spawn_shared`].
pub trait SharedMain: Send + Sync + 'static {
    /// The thread's whole life, given the reference that [`spawn_shared`] handed over. A
    /// panic aborts the process, as with [`spawn`].
    fn main(self: std::sync::Arc<Self>);
}

/// [`spawn`] for a body that already lives in an `Arc`: the `Arc`'s own pointer crosses into
/// the new thread, so nothing is allocated or freed on either side (a thread that never
/// touches the heap never sets up its allocator's per-thread cache). On failure the `Arc` is
/// dropped here.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// struct Flag(AtomicBool);
/// impl threadkit_sys::SharedMain for Flag {
///     fn main(self: Arc<Self>) {
///         self.0.store(true, Ordering::Relaxed);
///     }
/// }
/// let flag = Arc::new(Flag(AtomicBool::new(false)));
/// threadkit_sys::spawn_shared(0, flag.clone()).unwrap().join().unwrap();
/// assert!(flag.0.load(Ordering::Relaxed));
/// ```
pub fn spawn_shared<T: SharedMain>(
    stack_size: usize,
    main: std::sync::Arc<T>,
) -> io::Result<RawThread> {
    let arg = std::sync::Arc::into_raw(main);
    imp::start(stack_size, imp::shared_start::<T>, arg.cast_mut().cast())
        .map(RawThread)
        .inspect_err(|_| {
            // SAFETY: the thread was not created, so nobody received `arg` (and its count).
            drop(unsafe { std::sync::Arc::from_raw(arg) });
        })
}

impl RawThread {
    /// Waits for the thread to finish and frees its OS resources. Python's `Thread.join()`
    /// without a timeout.
    ///
    /// ```
    /// let t = threadkit_sys::spawn(0, Box::new(|| {})).unwrap();
    /// t.join().unwrap();
    /// ```
    pub fn join(self) -> io::Result<()> {
        imp::join(self.0)
    }

    /// Lets the thread run on by itself; its resources are freed when it ends (what CPython
    /// does for every thread that is never joined).
    ///
    /// ```
    /// threadkit_sys::spawn(0, Box::new(|| {})).unwrap().detach();
    /// ```
    pub fn detach(self) {
        drop(self)
    }
}

/// A cheap identifier of the calling thread (no syscall): unique among live threads, never 0.
/// Python's `threading.get_ident()`.
///
/// ```
/// assert_ne!(threadkit_sys::current_id(), 0);
/// ```
#[inline]
#[cfg(not(windows))]
pub fn current_id() -> u64 {
    // The address of a per-thread anchor: unique among live threads, never 0, and read with
    // one thread-pointer-relative instruction (no call into libc, unlike `pthread_self`). The
    // anchor has a `const` initialiser and no destructor, so it is readable at any point of a
    // thread's life, including its TLS destructors.
    thread_local! {
        static ANCHOR: u8 = const { 0 };
    }
    ANCHOR.with(|a| (a as *const u8).addr() as u64)
}

/// Windows: the thread id, read from the thread's own TEB (no system call). Not the address
/// of a thread-local as elsewhere: on targets without native TLS (`x86_64-pc-windows-gnu`)
/// std keeps thread-locals in heap boxes that are freed and re-made during TLS teardown, so
/// such an address could change within a thread, or be handed to another live thread.
#[inline]
#[cfg(windows)]
pub fn current_id() -> u64 {
    imp::native_id()
}

/// The OS's id for the calling thread (`gettid`, `GetCurrentThreadId`, `pthread_threadid_np`,
/// `pthread_getthreadid_np`). Python's `threading.get_native_id()`.
///
/// ```
/// assert_ne!(threadkit_sys::native_id(), 0);
/// ```
pub fn native_id() -> u64 {
    imp::native_id()
}

/// Sets the calling thread's OS name (seen in `ps -L`, `top -H` and debuggers), truncated to
/// [`MAX_NAME_LEN`] bytes on a char boundary. Names with an interior NUL are cut there.
/// What CPython 3.14 does with `Thread.name` when a thread starts.
///
/// ```
/// threadkit_sys::set_current_name("worker-1");
/// ```
pub fn set_current_name(name: &str) {
    imp::set_current_name(name)
}

/// Gives up the rest of the calling thread's time slice. Python's `time.sleep(0)`.
///
/// ```
/// threadkit_sys::yield_now();
/// ```
pub fn yield_now() {
    imp::yield_now()
}

/// A monotonic clock in nanoseconds from an unspecified start, the same in every thread of
/// the process (`Instant` has no such number): `CLOCK_MONOTONIC`, or on Windows the
/// performance counter. For timestamps that threads share through an atomic word.
///
/// ```
/// let a = threadkit_sys::monotonic_nanos();
/// threadkit_sys::sleep(std::time::Duration::from_millis(1));
/// assert!(threadkit_sys::monotonic_nanos() >= a + 1_000_000);
/// ```
pub fn monotonic_nanos() -> u64 {
    imp::monotonic_nanos()
}

/// Sleeps for at least `dur` (signals do not shorten it). Python's `time.sleep`.
///
/// ```
/// let start = std::time::Instant::now();
/// threadkit_sys::sleep(std::time::Duration::from_millis(2));
/// assert!(start.elapsed() >= std::time::Duration::from_millis(2));
/// ```
pub fn sleep(dur: Duration) {
    imp::sleep(dur)
}

/// CPU time consumed so far by the calling thread (zero where the OS cannot say). Python's
/// `time.thread_time()`.
///
/// ```
/// let used = threadkit_sys::thread_cpu_time();
/// println!("{used:?}");
/// ```
pub fn thread_cpu_time() -> Duration {
    imp::thread_cpu_time()
}

/// The smallest stack size the OS accepts for a new thread, in bytes (on glibc this includes
/// the static TLS block). Smaller sizes given to [`spawn`] are raised to it; Python's
/// `threading.stack_size(n)` rejects sizes below 32 KiB instead.
///
/// ```
/// assert!(threadkit_sys::min_stack_size() >= threadkit_sys::page_size());
/// ```
pub fn min_stack_size() -> usize {
    imp::min_stack_size()
}

/// The size of a memory page, in bytes. Python's `mmap.PAGESIZE`.
///
/// ```
/// assert!(threadkit_sys::page_size().is_power_of_two());
/// ```
pub fn page_size() -> usize {
    imp::page_size()
}

/// The number of CPUs this process may run on (at least 1). Python's
/// `os.process_cpu_count()`, except that on Linux it reads the process's mask (that of its
/// main thread, which `taskset` and cpusets set), not the calling thread's: a thread pinned to
/// one CPU still sees the CPUs its process has.
///
/// ```
/// assert!(threadkit_sys::cpu_count() >= 1);
/// ```
pub fn cpu_count() -> usize {
    imp::cpu_count()
}

/// Registers `f` to run when the process exits normally (when `main` returns or
/// `std::process::exit` is called), after the Rust `main` has finished: C's `atexit`. Hooks
/// run in the reverse order of registration. This is how Python's "the interpreter waits for
/// non-daemon threads at exit" rule is implemented (`threading._shutdown`).
///
/// ```no_run
/// extern "C" fn bye() {
///     // Runs once `main` has returned.
/// }
/// threadkit_sys::at_exit(bye);
/// ```
pub fn at_exit(f: extern "C" fn()) {
    imp::at_exit(f)
}

/// Registers three functions run around every `fork()` of this process, on the thread that
/// calls `fork`: `prepare` in the parent just before the fork, `parent` in the parent after it,
/// `child` in the new child process (where that thread is the only one). Handlers run in the
/// order POSIX gives: `prepare` in the reverse order of registration, the other two in the
/// order of registration. POSIX's `pthread_atfork`; Python's `os.register_at_fork`.
///
/// Windows has no `fork`, and Miri cannot fork: there this does nothing and returns `Ok`.
/// An error means the C library could not store the handlers (out of memory).
///
/// ```
/// extern "C" fn before() {}
/// extern "C" fn after_in_parent() {}
/// extern "C" fn after_in_child() {}
/// threadkit_sys::at_fork(before, after_in_parent, after_in_child).unwrap();
/// ```
pub fn at_fork(
    prepare: extern "C" fn(),
    parent: extern "C" fn(),
    child: extern "C" fn(),
) -> io::Result<()> {
    with_registration_lock(|| imp::at_fork(prepare, parent, child))
}

/// How many `fork()`s separate this process from the one that first loaded the program: 0 in
/// it, and one more in each child (a child of a child: 2, and so on; inherited, then bumped by
/// a `fork` child handler). The first call registers that handler, so a caller that records the
/// generation *after* calling this is sure to see a different one in any child forked later.
/// Primitives stamp the waiter state they keep with it, and discard state of an older
/// generation: it belongs to threads that do not exist in the child.
///
/// Always 0 on Windows (no `fork`) and under Miri (which cannot fork). If the handler cannot be
/// registered (the C library is out of memory) the next call tries again.
///
/// ```
/// let g = threadkit_sys::fork_generation();
/// assert_eq!(threadkit_sys::fork_generation(), g); // only a fork changes it
/// ```
#[inline]
pub fn fork_generation() -> u32 {
    use core::sync::atomic::Ordering::{Acquire, Relaxed};
    if !fork_gen::HOOKED.load(Acquire) {
        fork_gen::hook();
    }
    fork_gen::GENERATION.load(Relaxed)
}
