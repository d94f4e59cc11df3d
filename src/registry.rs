//! The thread registry: every live [`Thread`] object (Python's `threading._active` and
//! `_limbo`), the calling thread's handle, the main thread, the module functions that read them
//! ([`current_thread`], [`main_thread`], [`enumerate`], [`active_count`], [`get_ident`],
//! [`get_native_id`]), the shutdown rule, and what a `fork()` child does to all of it.
//!
//! # State
//!
//! | item                     | guarded by      | meaning                                        |
//! |--------------------------|-----------------|------------------------------------------------|
//! | `threads: Vec<Thread>`   | `REGISTRY.lock` | live and starting threads, at `reg_index`      |
//! | `main: Option<Thread>`   | `REGISTRY.lock` | the "MainThread" handle, created on first use  |
//! | `STARTED` (TLS)          | its own thread  | a running threadkit thread's `Inner`           |
//! | `CURRENT` (TLS)          | its own thread  | any other thread's handle once known           |
//! | `NAME_COUNTER`           | atomic          | Python's `_counter` for "Thread-N"/"Dummy-N"   |
//! | `FORK_GEN` (`fork.rs`)   | atomic          | how many `fork()`s this process is a child of  |
//!
//! ```text
//!  Thread::start: NEW -> STARTING + listed (one critical section) --OS refused--> NEW + unlisted
//!                                   |
//!                                   +--spawned--> RUNNING --target done--> FINISHED + unlisted
//!  foreign thread: current_thread() ──> register "Dummy-N"
//!                  ──> TLS destructor: FINISHED + unlisted
//! ```
//!
//! A thread is listed *before* its OS thread exists, as Python puts it in `_limbo`: so the
//! shutdown hook, which may run while a daemon thread is inside `start()` of a non-daemon one,
//! never misses it. Listing and the state changes `NEW -> STARTING` and `-> FINISHED` happen in
//! the same critical section, so whoever holds the lock (shutdown, a fork) sees every thread
//! either listed and not finished, or unlisted and not running.
//!
//! Memory ordering: every access to the vectors happens under the registry lock, whose
//! acquire/release orders them. User hooks are never called with the lock held, so a hook may
//! call [`enumerate`] or [`current_thread`] freely.
//!
//! # Which thread is the main thread
//!
//! On Linux and Android the main thread is the one whose kernel thread id equals the process
//! id (`gettid() == getpid()`), which holds whoever touches the registry first. On the other
//! systems a constructor placed in the executable's init section (`__mod_init_func`,
//! `.init_array`, `.CRT$XCU`) records the id of the thread that runs it, which is the main
//! thread, before `main` starts. The "MainThread" handle gets its ids when the main thread
//! first calls into threadkit (starting a thread or asking for `current_thread`); a handle
//! obtained earlier from another thread shows `ident() == None` until then.
//!
//! # fork()
//!
//! What a `fork()` child does to all of this (the fork handlers, `FORK_GEN`, CPython's
//! `_after_fork`) is in `fork.rs`; the internal locks those handlers take ([`InternalLock`],
//! [`Locked`]) are in `internal_lock.rs`.

use crate::thread::{FINISHED, Inner, Kind, NEW, STARTING, Thread};
use core::cell::RefCell;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::Arc;

#[path = "fork.rs"]
mod fork;
#[path = "internal_lock.rs"]
mod internal_lock;

pub(crate) use fork::fork_generation;
pub(crate) use internal_lock::{InternalLock, Locked, rt};
use rt::{AtomicBool, AtomicU64, AtomicUsize};

struct Registry {
    threads: Vec<Thread>,
    main: Option<Thread>,
}

static REGISTRY: Locked<Registry> = Locked::new(Registry {
    threads: Vec::new(),
    main: None,
});

/// Python's `_counter`: one counter for "Thread-N" and "Dummy-N".
static NAME_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The next number of Python's `_newname(template)` ("Thread-N", "Dummy-N": one counter).
pub(crate) fn next_number() -> usize {
    NAME_COUNTER.fetch_add(1, Relaxed) + 1
}

/// Python's `_newname(template)`.
pub(crate) fn new_name(prefix: &str) -> String {
    format!("{prefix}-{}", next_number())
}

/// This thread's handle; for a dummy, dropping it unregisters the thread.
struct CurrentSlot(RefCell<Option<Thread>>);

impl Drop for CurrentSlot {
    fn drop(&mut self) {
        if let Some(t) = self.0.get_mut().take() {
            if t.inner.kind() == Kind::Dummy {
                finish(&t);
            }
        }
    }
}

thread_local! {
    static CURRENT: CurrentSlot = const { CurrentSlot(RefCell::new(None)) };
    /// The calling threadkit thread's `Inner` while `thread_entry::run` runs (it holds a
    /// handle for that whole time), else null. No destructor: a thread that sets it registers
    /// nothing with the C runtime's TLS-destructor list, which would allocate (and make the
    /// thread set up the allocator's per-thread cache). Once `run` returns, the thread is no
    /// longer its `Thread`'s: a late TLS destructor that asks gets a "Dummy-N", as code
    /// running after `_bootstrap_inner` does in CPython.
    static STARTED: core::cell::Cell<*const Inner> = const { core::cell::Cell::new(core::ptr::null()) };
}

fn push(r: &mut Registry, t: &Thread) {
    t.inner.reg_index.store(r.threads.len(), Relaxed);
    r.threads.push(t.clone());
}

/// Takes `t` out of the list (`None` when absent).
fn remove(r: &mut Registry, t: &Thread) -> Option<Thread> {
    let i = t.inner.reg_index.load(Relaxed);
    if i < r.threads.len() && r.threads[i] == *t {
        let old = r.threads.swap_remove(i);
        if let Some(moved) = r.threads.get(i) {
            moved.inner.reg_index.store(i, Relaxed);
        }
        Some(old)
    } else {
        None
    }
}

/// Adds a running thread (a foreign thread's dummy) to the live set.
fn register(t: &Thread) {
    REGISTRY.with(|r| push(r, t));
}

/// The start of `Thread::start`: makes the transition `NEW -> STARTING` and lists `t`, in one
/// critical section, and records the fork generation its OS thread will belong to. `false`
/// (nothing changed) if `t` was not `NEW`.
pub(crate) fn register_starting(t: &Thread) -> bool {
    REGISTRY.with(|r| {
        // Transition NEW -> STARTING: this caller owns the start.
        if t.inner
            .state
            .compare_exchange(NEW, STARTING, Acquire, Relaxed)
            .is_err()
        {
            return false;
        }
        t.inner.os.set_generation(fork_generation());
        push(r, t);
        true
    })
}

/// The OS refused `t`'s thread: unlisted and back to `NEW` (transition `STARTING -> NEW`).
pub(crate) fn unregister_unstarted(t: &Thread) {
    let removed = REGISTRY.with(|r| {
        let removed = remove(r, t);
        // Transition STARTING -> NEW: the thread may be started again.
        t.inner.set_state(NEW);
        removed
    });
    t.inner.wake_state(); // `shutdown` may wait for the start to end
    drop(removed); // outside the lock: never the last handle, but keep drops out anyway
}

/// The end of a thread (a threadkit thread after its target and its `Local` values, or a
/// dummy's TLS destructor): unlisted and `FINISHED` in one critical section, then joiners
/// woken. (Apart, a fork in between would leave the thread unlisted and running forever in
/// the child.)
pub(crate) fn finish(t: &Thread) {
    let removed = REGISTRY.with(|r| {
        let removed = remove(r, t);
        // Transition RUNNING -> FINISHED: joiners may return.
        t.inner.set_state(FINISHED);
        removed
    });
    t.inner.wake_state();
    drop(removed);
}

/// Records `t` as the calling thread's handle, kept until the thread's TLS is destroyed.
pub(crate) fn set_current(t: &Thread) {
    let _ = CURRENT.try_with(|c| *c.0.borrow_mut() = Some(t.clone()));
}

/// Runs `f` as the threadkit thread `me`: [`current_thread`] returns `me` until `f` returns.
pub(crate) fn run_as<R>(me: &Thread, f: impl FnOnce() -> R) -> R {
    STARTED.with(|s| s.set(Arc::as_ptr(&me.inner)));
    let r = f();
    STARTED.with(|s| s.set(core::ptr::null()));
    r
}

/// The calling thread's handle if it is already known: a running threadkit thread's, or the
/// one kept in `CURRENT`.
pub(crate) fn known_current() -> Option<Thread> {
    let p = STARTED.with(core::cell::Cell::get);
    if !p.is_null() {
        // SAFETY: a non-null `STARTED` was set by `run_as` on this very thread from a live
        // `Thread`, which `run_as`'s caller keeps alive until `run_as` resets it to null; so
        // `p` comes from `Arc::as_ptr` of an `Arc` with a count of at least one, and adding
        // one before `from_raw` gives the new handle its own count.
        return Some(unsafe {
            Arc::increment_strong_count(p);
            Thread {
                inner: Arc::from_raw(p),
            }
        });
    }
    CURRENT.try_with(|c| c.0.borrow().clone()).ok().flatten()
}

/// The calling thread's daemon flag without creating a dummy: threadkit threads know theirs,
/// the main thread is not a daemon, any other thread would be a "Dummy-N" (a daemon).
pub(crate) fn current_daemon() -> bool {
    match known_current().map(|t| t.daemon()) {
        Some(daemon) => daemon,
        // The main thread's handle is kept in `CURRENT`, so that the next call makes no
        // system call (`is_main_thread` makes two on Linux).
        None if is_main_thread() => current_thread_slow().daemon(),
        None => true,
    }
}

/// Whether the caller is the process's main thread (in a fork child: the thread that forked).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn is_main_thread() -> bool {
    threadkit_sys::native_id() == u64::from(std::process::id())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
static MAIN_ID: AtomicU64 = AtomicU64::new(0);

/// Whether the caller is the process's main thread (in a fork child: the thread that forked).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn is_main_thread() -> bool {
    let id = MAIN_ID.load(Relaxed);
    id != 0 && id == threadkit_sys::current_id()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod main_ctor {
    extern "C" fn record_main_thread() {
        super::MAIN_ID.store(threadkit_sys::current_id(), super::Relaxed);
    }
    /// Runs before `main`, on the main thread (the loader runs init sections there).
    #[used]
    #[cfg_attr(
        target_vendor = "apple",
        unsafe(link_section = "__DATA,__mod_init_func")
    )]
    #[cfg_attr(windows, unsafe(link_section = ".CRT$XCU"))]
    #[cfg_attr(
        not(any(target_vendor = "apple", windows)),
        unsafe(link_section = ".init_array")
    )]
    static RECORD_MAIN: extern "C" fn() = record_main_thread;
}

/// The "MainThread" handle, created and registered on first use; its ids are filled in when
/// `on_main` (the caller is the main thread).
fn main_handle(on_main: bool) -> Thread {
    REGISTRY.with(|r| {
        let t = match &r.main {
            Some(t) => t.clone(),
            None => {
                let t = Thread::from_inner(Inner::existing(Kind::Main, "MainThread".into()));
                push(r, &t);
                r.main = Some(t.clone());
                t
            }
        };
        if on_main && t.inner.ident.load(Relaxed) == 0 {
            store_ids(&t.inner.ident, &t.inner.native);
        }
        t
    })
}

fn store_ids(ident: &AtomicU64, native: &AtomicU64) {
    native.store(threadkit_sys::native_id(), Relaxed);
    ident.store(threadkit_sys::current_id(), Relaxed);
}

/// The [`Thread`] object of the calling thread. Python's `threading.current_thread()`.
///
/// A thread that threadkit did not start (a `std::thread`, a C library's thread) gets a
/// "Dummy-N" handle: a daemon, alive and listed by [`enumerate`] until that thread exits.
///
/// ```
/// let t = threadkit::spawn(|| threadkit::current_thread().name());
/// let name = t.join().unwrap();
/// assert!(name.starts_with("Thread-"));
/// ```
pub fn current_thread() -> Thread {
    known_current().unwrap_or_else(current_thread_slow)
}

#[cold]
fn current_thread_slow() -> Thread {
    let t = if is_main_thread() {
        main_handle(true)
    } else {
        let inner = Inner::existing(Kind::Dummy, new_name("Dummy"));
        store_ids(&inner.ident, &inner.native);
        let t = Thread::from_inner(inner);
        if CURRENT.try_with(|_| ()).is_ok() {
            register(&t);
        }
        t
    };
    // If TLS is already torn down (a late destructor), the handle is returned unregistered.
    let _ = CURRENT.try_with(|c| *c.0.borrow_mut() = Some(t.clone()));
    t
}

/// The main thread's [`Thread`] object, named "MainThread". Python's
/// `threading.main_thread()`.
///
/// In the child of a `fork()`, the thread that called `fork` (the only one there) is the main
/// thread, as in Python.
///
/// ```
/// let main = threadkit::main_thread();
/// assert_eq!(main.name(), "MainThread");
/// assert!(!main.daemon());
/// ```
pub fn main_thread() -> Thread {
    main_handle(is_main_thread())
}

/// Every live [`Thread`] object: started threads that have not finished (and threads being
/// started), the main thread and the dummies of foreign threads. Python's
/// `threading.enumerate()`.
///
/// ```
/// let main = threadkit::main_thread();
/// assert!(threadkit::enumerate().contains(&main));
/// ```
pub fn enumerate() -> Vec<Thread> {
    let _ = main_handle(is_main_thread());
    REGISTRY.with(|r| r.threads.clone())
}

/// The number of live [`Thread`] objects, i.e. `enumerate().len()`. Python's
/// `threading.active_count()`.
///
/// ```
/// assert!(threadkit::active_count() >= 1); // at least the main thread
/// ```
pub fn active_count() -> usize {
    let _ = main_handle(is_main_thread());
    REGISTRY.with(|r| r.threads.len())
}

/// The calling thread's identifier, equal to `current_thread().ident().unwrap()` but without
/// touching the registry. Unique among live threads; may be reused after a thread exits.
/// Python's `threading.get_ident()`.
///
/// ```
/// assert_eq!(threadkit::get_ident(), threadkit::current_thread().ident().unwrap());
/// ```
#[inline]
pub fn get_ident() -> u64 {
    threadkit_sys::current_id()
}

/// The OS's id of the calling thread (`gettid()` on Linux). Python's
/// `threading.get_native_id()`.
///
/// ```
/// assert_eq!(threadkit::get_native_id(), threadkit::current_thread().native_id().unwrap());
/// ```
pub fn get_native_id() -> u64 {
    threadkit_sys::native_id()
}

/// Whether [`shutdown`] is registered with `at_exit`.
static AT_EXIT_SET: AtomicBool = AtomicBool::new(false);

/// Registers [`shutdown`] to run at process exit (once); `false` where it cannot be (Miri has
/// no `atexit`: there the shutdown rule is tested in a real process instead).
pub(crate) fn ensure_at_exit() -> bool {
    if cfg!(miri) {
        return false;
    }
    if !AT_EXIT_SET.load(Acquire) && !AT_EXIT_SET.swap(true, AcqRel) {
        threadkit_sys::at_exit(shutdown);
    }
    true
}

/// Whether [`shutdown`] will run at exit.
pub(crate) fn at_exit_registered() -> bool {
    AT_EXIT_SET.load(Acquire)
}

/// Python's `threading._shutdown`: joins every started non-daemon thread, repeatedly, until
/// none is left (threads being started included: their start is waited for first), then, on
/// the main thread, drops the main thread's [`Local`](crate::Local) values. Registered with
/// `at_exit` on the first `Thread::start` or the main thread's first `Local` use.
pub(crate) extern "C" fn shutdown() {
    let me = get_ident();
    loop {
        let next = REGISTRY.with(|r| {
            r.threads
                .iter()
                .find(|t| {
                    t.inner.kind() == Kind::Normal
                        && !t.daemon()
                        && t.inner.ident.load(Relaxed) != me
                        && t.inner.state.load(Acquire) != FINISHED
                })
                .cloned()
        });
        let Some(t) = next else { break };
        if t.inner.state.load(Acquire) == STARTING {
            // Listed before its OS thread exists: wait until it runs (or the OS refused it).
            crate::thread::wait_state(&t.inner, |s| s != STARTING, None);
        } else {
            let _ = t.join();
        }
    }
    if is_main_thread() {
        crate::local::main_thread_exit();
    }
}
