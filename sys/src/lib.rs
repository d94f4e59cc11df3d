//! `threadkit-sys`: the only part of threadkit that talks to the operating system.
//!
//! Two small, portable surfaces, each implemented once per OS in its own file:
//!
//! * **Futex-style wait/wake** on an [`AtomicU32`](core::sync::atomic::AtomicU32) ([`wait`],
//!   [`wake_one`], [`wake_n`], [`wake_all`], [`requeue_one`]). Linux/Android use `futex(2)`,
//!   Windows `WaitOnAddress`, macOS
//!   `os_sync_wait_on_address` (14.4+) with a `__ulock_wait2`/`__ulock_wait` fallback, FreeBSD
//!   `_umtx_op`. See `README.md` for the per-OS table of syscalls, versions and limits.
//! * **Raw threads** ([`spawn`], [`spawn_shared`], [`RawThread`], ids, names, stack sizes, yield, sleep, CPU
//!   time, [`cpu_count`]) and process hooks ([`at_exit`], [`at_fork`], [`fork_generation`]): `pthread_create` on
//!   unix and `CreateThread` on Windows, with an explicit stack size.
//!
//! Everything above this crate (the algorithms in `threadkit`) is portable code that calls
//! these functions and nothing else.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    windows,
    target_os = "macos",
    target_os = "freebsd"
)))]
compile_error!(
    "threadkit-sys supports Linux, Android, Windows, macOS and FreeBSD; this target has no backend"
);

mod futex;
mod thread;
mod time;

pub use futex::{
    REQUEUE_MOVES, WAKE_N_LOOP_MAX, requeue_one, wait, wake_all, wake_n, wake_one, wakes_exactly,
};
pub use thread::{
    MAX_NAME_LEN, RawThread, SharedMain, at_exit, at_fork, cpu_count, current_id, fork_generation,
    min_stack_size, monotonic_nanos, native_id, page_size, set_current_name, sleep, spawn,
    spawn_shared, thread_cpu_time, yield_now,
};
pub use thread::{is_main_thread, main_thread_ids, record_main_thread};
