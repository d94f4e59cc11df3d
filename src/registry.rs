//! The thread registry: every live [`Thread`] object (Python's `threading._active` and
//! `_limbo`), the calling thread's handle, the main thread, the module functions that read them
//! ([`current_thread`], [`main_thread`], [`enumerate`], [`active_count`], [`get_ident`],
//! [`get_native_id`]), the shutdown rule, and what a `fork()` child does to all of it.
//!
//! # State
//!
//! | item                   | guarded by      | meaning                                        |
//! |------------------------|-----------------|------------------------------------------------|
//! | `threads: Vec<Thread>` | `REGISTRY.lock` | live and starting threads, at `reg_index`      |
//! | `main: Option<Thread>` | `REGISTRY.lock` | the "MainThread" handle, created on first use  |
//! | `CURRENT` (TLS)        | its own thread  | this thread's handle once known                |
//! | `NAME_COUNTER`         | atomic          | Python's `_counter` for "Thread-N"/"Dummy-N"   |
//! | `FORK_GEN`             | atomic          | how many `fork()`s this process is a child of  |
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
//! The first use of any internal lock registers fork handlers (`threadkit_sys::at_fork`):
//!
//! * prepare (parent, before the fork): takes every internal lock, in the order of
//!   [`fork_locks`] (hook slots, names, registry, `Local` indexes), so that no list is caught
//!   half-changed; no code holds two of them, so the order cannot deadlock.
//! * parent (after the fork): releases them.
//! * child: replaces each lock word by a fresh unlocked one (the waiter counts in it belong
//!   to threads that do not exist there), increments `FORK_GEN`, and does what CPython's
//!   `threading._after_fork` does: the calling thread is the only one left and becomes the
//!   main thread (a foreign thread's "Dummy-N" turns into "MainThread", non-daemon; one that
//!   never met threadkit gets a new "MainThread" handle); every other listed thread, and the
//!   old main thread, is marked `FINISHED`, so joins return and `is_alive()` is false. OS
//!   handles of the parent's threads are never joined or detached in the child (their
//!   generation differs: see `thread_entry::OsThread`), and `Local` values of vanished threads
//!   are dropped when their `Local` drops.

use crate::thread::{FINISHED, Inner, Kind, NEW, STARTING, Thread};
use core::cell::{RefCell, UnsafeCell};
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

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
use rt::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};

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

/// One of the thread layer's internal locks. Each guards a short critical section that runs
/// no user code, and no two are ever held together, so the fork handlers can take them all (in
/// the fixed order of [`fork_locks`]) and the child can reset them.
pub(crate) struct InternalLock(UnsafeCell<GlobalLock>);

// SAFETY: the lock is only used through `&GlobalLock` (a futex lock, `Sync` itself), except in
// `reset_in_child`, whose contract excludes every other use.
unsafe impl Sync for InternalLock {}

impl InternalLock {
    pub(crate) const fn new() -> Self {
        InternalLock(UnsafeCell::new(GlobalLock::new()))
    }

    #[inline]
    fn get(&self) -> &GlobalLock {
        // SAFETY: the cell is only written by `reset_in_child`, when no reference exists.
        unsafe { &*self.0.get() }
    }

    /// Runs `f` with the lock held (released on unwind too). `f` must not call user code.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        ensure_fork_handlers();
        self.get().acquire();
        let _held = Unlock(self.get());
        f()
    }

    /// # Safety
    /// Only in the child of a `fork`, on a lock the calling thread (the child's only thread)
    /// took in the prepare handler: no other reference to it is in use.
    unsafe fn reset_in_child(&self) {
        // SAFETY: per the contract nobody else uses the lock; whatever waiter counts the word
        // holds belong to threads that do not exist in this process, so a fresh unlocked
        // lock replaces it (releasing it could hand it over to one of those ghosts).
        unsafe { self.0.get().write(GlobalLock::new()) };
    }
}

/// A value guarded by an [`InternalLock`].
pub(crate) struct Locked<T> {
    lock: InternalLock,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which holds the lock, so at most one
// thread touches it at a time; `T: Send` lets it be touched from any thread.
unsafe impl<T: Send> Sync for Locked<T> {}

impl<T> Locked<T> {
    pub(crate) const fn new(value: T) -> Self {
        Locked {
            lock: InternalLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` on the value with the lock held. `f` must not call user code.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: the lock is held for the whole borrow, so this is the only reference.
            f(unsafe { &mut *self.value.get() })
        })
    }

    /// The lock, for the fork handlers.
    pub(crate) fn lock(&self) -> &InternalLock {
        &self.lock
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
            if t.inner.kind() == Kind::Dummy {
                finish(&t);
            }
        }
    }
}

thread_local! {
    static CURRENT: CurrentSlot = const { CurrentSlot(RefCell::new(None)) };
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
        t.inner.os.set_generation(FORK_GEN.load(Relaxed));
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
    match known {
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

/// Whether the fork handlers are registered.
static FORK_SET: AtomicBool = AtomicBool::new(false);
/// Incremented in each fork child: OS handles of an older generation belong to the parent.
static FORK_GEN: AtomicU32 = AtomicU32::new(0);

/// The fork generation of this process (0 unless it is the child of a `fork`).
pub(crate) fn fork_generation() -> u32 {
    FORK_GEN.load(Relaxed)
}

/// Registers the fork handlers before the first use of an internal lock.
#[inline]
fn ensure_fork_handlers() {
    if !FORK_SET.load(Acquire) {
        ensure_fork_handlers_slow();
    }
}

#[cold]
fn ensure_fork_handlers_slow() {
    if !FORK_SET.swap(true, AcqRel)
        && threadkit_sys::at_fork(fork_prepare, fork_parent, fork_child).is_err()
    {
        FORK_SET.store(false, Release); // out of memory: try again at the next use
    }
}

/// Every internal lock, in the order the prepare handler takes them.
fn fork_locks() -> [&'static InternalLock; 6] {
    let [trace, profile, except] = crate::hooks::fork_locks();
    [
        trace,
        profile,
        except,
        crate::thread::name_lock(),
        REGISTRY.lock(),
        crate::local::fork_lock(),
    ]
}

extern "C" fn fork_prepare() {
    for lock in fork_locks() {
        lock.get().acquire();
    }
}

extern "C" fn fork_parent() {
    for lock in fork_locks().into_iter().rev() {
        // Cannot fail: the prepare handler took it.
        let _ = lock.get().release();
    }
}

extern "C" fn fork_child() {
    FORK_GEN.fetch_add(1, Relaxed);
    for lock in fork_locks() {
        // SAFETY: this is the fork child, whose only thread is this one, and the prepare
        // handler took every lock on this thread.
        unsafe { lock.reset_in_child() };
    }
    after_fork_in_child();
}

/// Python's `threading._after_fork`: see the module docs.
fn after_fork_in_child() {
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    MAIN_ID.store(threadkit_sys::current_id(), Relaxed);
    let known = CURRENT.try_with(|c| c.0.borrow().clone()).ok().flatten();
    let me = match &known {
        Some(t) => t.clone(),
        None => Thread::from_inner(Inner::existing(Kind::Main, "MainThread".into())),
    };
    let was_dummy = me.inner.kind() == Kind::Dummy;
    if was_dummy {
        me.inner.become_main();
    }
    store_ids(&me.inner.ident, &me.inner.native); // the native id is new in the child
    let (vanished, old_main) = REGISTRY.with(|r| {
        let vanished = core::mem::take(&mut r.threads);
        for t in vanished.iter().filter(|t| **t != me) {
            t.inner.state.store(FINISHED, Release);
        }
        let old_main = r.main.replace(me.clone());
        if let Some(m) = old_main.as_ref().filter(|m| **m != me) {
            m.inner.state.store(FINISHED, Release);
        }
        push(r, &me);
        (vanished, old_main)
    });
    if was_dummy {
        me.inner.store_name("MainThread".into());
    }
    if known.is_none() {
        set_current(&me);
    }
    // Outside the lock. None is the last handle: the vanished threads still own theirs.
    drop((vanished, old_main));
}
