//! Python's thread model: [`Thread`] on a raw OS thread, its registry, the calling thread,
//! timers, thread-local data, hooks, and the module functions of `threading` (below).
//!
//! | file                         | what lives there                                              |
//! |------------------------------|---------------------------------------------------------------|
//! | `handle.rs`                  | [`Thread`] and its state word (`NEW` ... `FINISHED`)          |
//! | `start.rs`                   | `start`: list, create the OS thread, return (`STARTED`)       |
//! | `join.rs`                    | the wait of `join` and `join_timeout` (main thread included)  |
//! | `inner.rs`                   | `Inner`, the state every handle shares; `wait_state`          |
//! | `entry.rs`                   | the body of a new OS thread; the OS handle's join word        |
//! | `registry.rs`                | the live set (`_active` + `_limbo`) and "MainThread"          |
//! | `current.rs`                 | [`current_thread`]: `STARTED`/`CURRENT`, dummies              |
//! | `names.rs`                   | "Thread-N" / "Dummy-N"                                        |
//! | `spawn.rs`, `stack.rs`       | [`spawn`]/[`JoinHandle`]; [`stack_size`]                      |
//! | `builder.rs`, `scope.rs`     | [`Builder`]; [`scope`]/[`Scope`]/[`ScopedJoinHandle`]         |
//! | `timer.rs`, `hooks.rs`       | [`Timer`]; `settrace`, `setprofile`, `set_excepthook`         |
//! | `local/`                     | [`Local`] (`mod.rs`) and its thread indexes (`index.rs`)      |
//! | `lifecycle/`                 | the internal locks, `fork()` handlers, the shutdown rule      |
//!
//! This layer sits on `crate::sync` (the algorithms) and reaches the OS only through
//! `crate::rt::os`.

mod builder;
mod current;
mod entry;
mod handle;
mod hooks;
mod inner;
mod join;
mod lifecycle;
mod local;
mod names;
mod registry;
mod scope;
mod spawn;
mod stack;
mod start;
mod timer;

pub use builder::Builder;
pub use current::current_thread;
pub use handle::Thread;
pub use hooks::{
    ExceptHook, ExceptHookArgs, ProfileHook, ThreadEvent, TraceHook, getprofile, gettrace,
    set_excepthook, setprofile, settrace,
};
pub use local::Local;
pub use scope::{Scope, ScopedJoinHandle, scope};
pub use spawn::{JoinHandle, spawn, try_spawn};
pub use stack::{MIN_STACK_SIZE, set_stack_size, stack_size};
pub use timer::Timer;

pub(crate) use handle::{FINISHED, NEW, RUNNING, STARTED, STARTING};
pub(crate) use inner::{Inner, Kind, name_lock};

use crate::rt::os;

// As std's `Thread`: a handle whose shared state is only changed by transitions that keep it
// consistent when a panic unwinds through a caller (the auto traits miss it because of the
// cells for the name, the target and the payload, each reached under its own protocol).
impl std::panic::UnwindSafe for Thread {}
impl std::panic::RefUnwindSafe for Thread {}

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
    Thread::from_arc(registry::main_handle(os::is_main_thread()))
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
    let _ = registry::main_handle(os::is_main_thread());
    registry::snapshot()
        .into_iter()
        .map(Thread::from_arc)
        .collect()
}

/// The number of live [`Thread`] objects, i.e. `enumerate().len()`. Python's
/// `threading.active_count()`.
///
/// ```
/// assert!(threadkit::active_count() >= 1); // at least the main thread
/// ```
pub fn active_count() -> usize {
    let _ = registry::main_handle(os::is_main_thread());
    registry::count()
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
    os::current_id()
}

/// The OS's id of the calling thread (`gettid()` on Linux). Python's
/// `threading.get_native_id()`.
///
/// ```
/// assert_eq!(threadkit::get_native_id(), threadkit::current_thread().native_id().unwrap());
/// ```
pub fn get_native_id() -> u64 {
    os::native_id()
}
