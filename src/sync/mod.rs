//! The algorithms: each primitive is a state machine on one or two 32-bit words that reaches
//! the OS only through `crate::rt`. Nothing here imports the thread layer (`crate::thread`).
//!
//! | file / folder     | what lives there                                                        |
//! |-------------------|-------------------------------------------------------------------------|
//! | `lock/`           | [`Lock`]: state table, fast path (`mod.rs`); contended paths (`slow.rs`) |
//! | `rlock.rs`        | [`RLock`]: a `Lock` + owner + recursion count                           |
//! | `event.rs`        | [`Event`]                                                               |
//! | `semaphore/`      | [`Semaphore`] (`mod.rs`), [`BoundedSemaphore`] (`bounded.rs`)           |
//! | `barrier/`        | [`Barrier`]: state table, arrivals (`mod.rs`); waits, phase ends (`slow.rs`); word fields (`state.rs`) |
//! | `waitqueue/`      | the FIFO of waiter nodes (`mod.rs`, `list.rs`); its guard (`guard.rs`); notify and its tokens (`notify.rs`) |
//! | `condition/`      | [`Condition`] (`mod.rs`) over a [`ConditionLock`] (`lock.rs`)           |
//! | `mutex.rs`, `condvar.rs` | the `lock_api` data layer: `Mutex<T>` over `Lock`, and `Condvar`  |
//! | `queue/`          | Python's `queue` module: [`Queue`](queue::Queue) and its kin           |
//! | `unwind.rs`       | `UnwindSafe` + `RefUnwindSafe` where the auto traits miss them          |
//!
//! Unit tests sit beside their primitive (`tests.rs`); the loom models that need crate
//! internals too (`loom_tests.rs`); the rest of the loom models are `tests/loom_*.rs`.

mod barrier;
mod condition;
pub(crate) mod condvar;
mod event;
mod lock;
pub(crate) mod mutex;
pub mod queue;
mod rlock;
mod semaphore;
mod unwind;
mod waitqueue;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionLock};
pub use event::Event;
pub use lock::Lock;
pub use rlock::RLock;
pub use semaphore::{BoundedSemaphore, Semaphore};
