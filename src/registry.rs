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
//! # The calling thread
//!
//! How a thread finds its own handle (`current_thread`, the `STARTED` and `CURRENT`
//! thread-locals, dummies of foreign threads) and which thread is the main thread:
//! `registry_current.rs`.
//!
//! # fork()
//!
//! What a `fork()` child does to all of this (the fork handlers, `FORK_GEN`, CPython's
//! `_after_fork`) is in `fork.rs`; the internal locks those handlers take ([`InternalLock`],
//! [`Locked`]) are in `internal_lock.rs`.

use crate::thread::{FINISHED, Inner, Kind, NEW, STARTING, Thread};
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

#[path = "registry_current.rs"]
mod current;
#[path = "fork.rs"]
mod fork;
#[path = "internal_lock.rs"]
mod internal_lock;

pub use current::current_thread;
use current::store_ids;
pub(crate) use current::{current_daemon, is_main_thread, known_current, run_as, set_current};
pub(crate) use fork::fork_generation;
pub(crate) use internal_lock::{InternalLock, Locked, rt};
use rt::{AtomicBool, AtomicUsize};

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
    spell_name(prefix, next_number(), &mut [0; 32]).to_owned()
}

/// "PREFIX-N" written at the end of `buf`, without allocating. `prefix` is ASCII and at most
/// 11 bytes ("Thread", "Dummy"); a `usize` has at most 20 digits.
pub(crate) fn spell_name<'b>(prefix: &str, mut n: usize, buf: &'b mut [u8; 32]) -> &'b str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    i -= 1;
    buf[i] = b'-';
    i -= prefix.len();
    buf[i..i + prefix.len()].copy_from_slice(prefix.as_bytes());
    core::str::from_utf8(&buf[i..]).unwrap_or_default() // ASCII: always valid
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
