//! The thread layer's life cycle beyond one thread: the internal locks behind its globals
//! (`internal_lock.rs`), what a `fork()` does to it (`fork.rs`), and Python's `_shutdown` at
//! process exit (`shutdown.rs`).

mod fork;
mod internal_lock;
mod shutdown;

pub(crate) use fork::fork_generation;
pub(crate) use internal_lock::{InternalLock, Locked};
pub(crate) use shutdown::{at_exit_registered, ensure_at_exit};

/// For `fork.rs`, which finds the calling thread's handle as `super::known_current`.
use super::current::known_current;
