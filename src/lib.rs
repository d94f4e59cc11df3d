//! # threadkit
//!
//! Python's `threading` module, rebuilt in Rust on atomics and the OS's own wait/wake syscalls
//! (futex, `WaitOnAddress`, `os_sync_wait_on_address`, `_umtx_op`) and raw OS threads.
//!
//! | Python                      | threadkit                          |
//! |-----------------------------|------------------------------------|
//! | `threading.Lock()`          | [`Lock::new()`](Lock::new)                    |
//! | `threading.RLock()`         | [`RLock::new()`](RLock::new)                   |
//! | `threading.Condition()`     | [`Condition::new()`](Condition::new)               |
//! | `threading.Semaphore(n)`    | [`Semaphore::new(n)`](Semaphore::new)              |
//! | `threading.BoundedSemaphore(n)` | [`BoundedSemaphore::new(n)`](BoundedSemaphore::new)   |
//! | `threading.Event()`         | [`Event::new()`](Event::new)                   |
//! | `threading.Barrier(n)`      | [`Barrier::new(n)`](Barrier::new)                |
//! | `threading.Thread(target=f)`| [`Thread::new(f)`](Thread::new)                 |
//! | `threading.Timer(t, f)`     | [`Timer::new(t, f)`](Timer::new)               |
//! | `threading.local()`         | [`Local::new(init)`](Local::new)               |
//! | `queue.Queue(maxsize)`      | [`Queue::with_maxsize(n)`](Queue::with_maxsize) |
//! | `queue.LifoQueue()` / `queue.PriorityQueue()` / `queue.SimpleQueue()` | [`LifoQueue`] / [`PriorityQueue`] / [`SimpleQueue`] |
//! | `with lock:`                | [`Acquire::guard`]                 |
//!
//! ```
//! use threadkit::{Acquire, Lock};
//! static COUNTER_LOCK: Lock = Lock::new();
//! {
//!     let _held = COUNTER_LOCK.guard(); // Python: `with counter_lock:`
//!     assert!(COUNTER_LOCK.locked());
//! }
//! assert!(!COUNTER_LOCK.locked());
//! ```
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]

// The layers, top down: `thread` (Python's thread model) -> `sync` (the algorithms) -> `rt`
// (the one seam to `threadkit_sys`, real or loom-modelled). docs/architecture.md has the map.
mod acquire;
mod error;
mod rt;
mod sync;
mod thread;

pub use acquire::{Acquire, Guard};
pub use error::Error;
pub use rt::TIMEOUT_MAX;
pub use sync::queue::{self, GetError, LifoQueue, PriorityQueue, PutError, Queue, SimpleQueue};
pub use sync::{
    Barrier, BoundedSemaphore, Condition, ConditionLock, Event, Lock, RLock, Semaphore,
};
// threadkit's own data layer (lock_api over `Lock`, and its condition variable), named from
// the files that define them.
#[cfg(not(threadkit_loom))]
pub use sync::condvar::Condvar;
#[cfg(not(threadkit_loom))]
pub use sync::mutex::{MappedMutexGuard, Mutex, MutexGuard};
pub use thread::{Builder, Scope, ScopedJoinHandle, scope};
pub use thread::{
    ExceptHook, ExceptHookArgs, JoinHandle, Local, MIN_STACK_SIZE, ProfileHook, Thread,
    ThreadEvent, Timer, TraceHook, active_count, current_thread, enumerate, get_ident,
    get_native_id, getprofile, gettrace, main_thread, set_excepthook, set_stack_size, setprofile,
    settrace, spawn, stack_size, try_spawn,
};

/// The README's examples, compiled and run as doctests (so the front page cannot rot).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
