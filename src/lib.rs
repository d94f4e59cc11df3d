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

mod acquire;
mod barrier;
mod condition;
mod condvar;
mod error;
mod event;
mod hooks;
mod local;
mod lock;
mod mutex;
#[path = "sync/queue/mod.rs"]
pub mod queue;
mod registry;
mod rlock;
mod semaphore;
mod spawn;
mod stack;
mod thread;
mod thread_entry;
mod timer;
mod wait;
mod waitqueue;

pub use acquire::{Acquire, Guard};
pub use barrier::*;
pub use condition::*;
pub use condvar::*;
pub use error::Error;
pub use event::*;
pub use hooks::*;
pub use local::*;
pub use lock::*;
pub use mutex::*;
pub use queue::{GetError, LifoQueue, PriorityQueue, PutError, Queue, SimpleQueue};
pub use registry::*;
pub use rlock::*;
pub use semaphore::*;
pub use spawn::*;
pub use stack::*;
pub use thread::*;
pub use timer::*;
pub use wait::TIMEOUT_MAX;

/// The README's examples, compiled and run as doctests (so the front page cannot rot).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
