//! The thread registry: every live [`Thread`] object (Python's `threading._active`), the
//! calling thread's handle, the main thread, and the module functions that read them
//! ([`current_thread`], [`main_thread`], [`enumerate`], [`active_count`], [`get_ident`],
//! [`get_native_id`]).
//!
//! # State
//!
//! | item                 | guarded by        | meaning                                        |
//! |----------------------|-------------------|------------------------------------------------|
//! | `threads: Vec<Thread>` | `REGISTRY.lock` | live handles; `Inner::reg_index` = position    |
//! | `main: Option<Thread>` | `REGISTRY.lock` | the "MainThread" handle, created on first use  |
//! | `CURRENT` (TLS)      | its own thread    | this thread's handle once known                |
//! | `NAME_COUNTER`       | atomic            | Python's `_counter` for "Thread-N"/"Dummy-N"   |
//!
//! ```text
//!  Thread::start ──> new thread: register ──> target ──> unregister ──> FINISHED
//!  foreign thread: current_thread() ──> register "Dummy-N" ──> TLS destructor: unregister
//! ```
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

use crate::thread::{FINISHED, Inner, Kind, Thread};
use core::cell::{RefCell, UnsafeCell};
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// The thread layer's view of the seam. Real OS threads cannot run inside loom's model, so
/// under `cfg(loom)` this layer keeps the real atomics and futex (the crate still builds; the
/// thread layer is simply not model-checked).
pub(crate) mod rt {
    pub(crate) use crate::wait::deadline_after;
    #[cfg(not(loom))]
    pub(crate) use crate::wait::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, wait, wake_all,
    };
    #[cfg(loom)]
    pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
    #[cfg(loom)]
    pub(crate) use threadkit_sys::{wait, wake_all};
}
use rt::{AtomicU64, AtomicUsize};

/// The lock behind the thread layer's globals (registry, hook slots, `Local` tables):
/// threadkit's own [`Lock`](crate::Lock). Under loom (whose `Lock::new` is not `const`) a
/// copy of the same three-state futex lock on real atomics stands in.
#[cfg(not(loom))]
type GlobalLock = crate::Lock;
#[cfg(loom)]
type GlobalLock = loom_lock::SmallLock;

/// Releases a held [`GlobalLock`] on drop (also when unwinding).
struct Unlock<'a>(&'a GlobalLock);

impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        // Cannot fail: this guard holds the lock.
        let _ = self.0.release();
    }
}

#[cfg(loom)]
mod loom_lock {
    use super::rt::{AtomicU32, wait, wake_all};
    use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

    /// 0 unlocked, 1 locked, 2 locked with maybe waiters (the same protocol as `Lock`).
    pub(crate) struct SmallLock(AtomicU32);

    impl SmallLock {
        pub(crate) const fn new() -> Self {
            SmallLock(AtomicU32::new(0))
        }
        pub(crate) fn acquire(&self) {
            // Transition 0 -> 1 (locked, no waiter).
            if self.0.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
                // Transition any -> 2; owned when the old state was 0.
                while self.0.swap(2, Acquire) != 0 {
                    wait(&self.0, 2, None);
                }
            }
        }
        pub(crate) fn release(&self) -> Result<(), crate::Error> {
            // Transition 1|2 -> 0; a 2 may have sleepers.
            if self.0.swap(0, Release) == 2 {
                wake_all(&self.0);
            }
            Ok(())
        }
    }
}

/// A value guarded by a [`GlobalLock`].
pub(crate) struct Locked<T> {
    lock: GlobalLock,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which holds the lock, so at most one
// thread touches it at a time; `T: Send` lets it be touched from any thread.
unsafe impl<T: Send> Sync for Locked<T> {}

impl<T> Locked<T> {
    pub(crate) const fn new(value: T) -> Self {
        Locked {
            lock: GlobalLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` on the value with the lock held. `f` must not call user code.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.lock.acquire();
        let _held = Unlock(&self.lock);
        // SAFETY: the lock is held for the whole borrow, so this is the only reference.
        f(unsafe { &mut *self.value.get() })
    }
}

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

/// Python's `_newname(template)`.
pub(crate) fn new_name(prefix: &str) -> String {
    let n = NAME_COUNTER.fetch_add(1, Relaxed) + 1;
    format!("{prefix}-{n}")
}

/// This thread's handle; for a dummy, dropping it unregisters the thread.
struct CurrentSlot(RefCell<Option<Thread>>);

impl Drop for CurrentSlot {
    fn drop(&mut self) {
        if let Some(t) = self.0.get_mut().take() {
            if t.inner.kind == Kind::Dummy {
                unregister(&t);
                t.inner.state.store(FINISHED, Release);
                rt::wake_all(&t.inner.state);
            }
        }
    }
}

thread_local! {
    static CURRENT: CurrentSlot = const { CurrentSlot(RefCell::new(None)) };
}

/// Adds `t` to the live set.
pub(crate) fn register(t: &Thread) {
    REGISTRY.with(|r| {
        t.inner.reg_index.store(r.threads.len(), Relaxed);
        r.threads.push(t.clone());
    });
}

/// Removes `t` from the live set (no-op when absent). The handle is dropped after the lock
/// is released.
pub(crate) fn unregister(t: &Thread) {
    let removed = REGISTRY.with(|r| {
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
    });
    drop(removed);
}

/// Records `t` as the calling thread's handle (a new threadkit thread, at its entry).
pub(crate) fn set_current(t: &Thread) {
    let _ = CURRENT.try_with(|c| *c.0.borrow_mut() = Some(t.clone()));
}

/// The calling thread's daemon flag without creating a dummy: threadkit threads know theirs,
/// the main thread is not a daemon, any other thread would be a "Dummy-N" (a daemon).
pub(crate) fn current_daemon() -> bool {
    let known = CURRENT
        .try_with(|c| c.0.borrow().as_ref().map(|t| t.daemon()))
        .ok()
        .flatten();
    known.unwrap_or_else(|| !is_main_thread())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_main_thread() -> bool {
    threadkit_sys::native_id() == u64::from(std::process::id())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
static MAIN_ID: AtomicU64 = AtomicU64::new(0);

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn is_main_thread() -> bool {
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
                t.inner.reg_index.store(r.threads.len(), Relaxed);
                r.threads.push(t.clone());
                r.main = Some(t.clone());
                t
            }
        };
        if on_main && t.inner.ident.load(Relaxed) == 0 {
            t.inner.native.store(threadkit_sys::native_id(), Relaxed);
            t.inner.ident.store(threadkit_sys::current_id(), Relaxed);
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
    if let Ok(Some(t)) = CURRENT.try_with(|c| c.0.borrow().clone()) {
        return t;
    }
    current_thread_slow()
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
/// ```
/// let main = threadkit::main_thread();
/// assert_eq!(main.name(), "MainThread");
/// assert!(!main.daemon());
/// ```
pub fn main_thread() -> Thread {
    main_handle(is_main_thread())
}

/// Every live [`Thread`] object: started threads that have not finished, the main thread and
/// the dummies of foreign threads. Python's `threading.enumerate()`.
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

/// Python's `threading._shutdown`: joins every started non-daemon thread, repeatedly, until
/// none is left. Registered with `at_exit` on the first `Thread::start`.
pub(crate) extern "C" fn shutdown() {
    let me = get_ident();
    loop {
        let next = REGISTRY.with(|r| {
            r.threads
                .iter()
                .find(|t| {
                    t.inner.kind == Kind::Normal
                        && !t.daemon()
                        && t.inner.ident.load(Relaxed) != me
                        && t.inner.state.load(Acquire) != FINISHED
                })
                .cloned()
        });
        match next {
            Some(t) => {
                let _ = t.join();
            }
            None => break,
        }
    }
}
