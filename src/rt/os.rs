//! The unmodelled view of the seam, for the thread layer (`crate::thread`). Real OS threads
//! cannot run inside loom's model, so under `cfg(threadkit_loom)` this view keeps the real atomics and
//! futex (the crate still builds; the thread layer is simply not model-checked), and it is
//! where the thread layer finds the thread syscalls of `threadkit-sys`: spawn, ids, names,
//! stack sizes, CPU time, which thread is the main thread, and the process hooks.

pub(crate) use super::deadline_after;
#[cfg(not(threadkit_loom))]
pub(crate) use super::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, wait, wake_all};
#[cfg(threadkit_loom)]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
#[cfg(threadkit_loom)]
pub(crate) use threadkit_sys::{wait, wake_all};

pub(crate) use threadkit_sys::{
    RawThread, SharedMain, at_exit, at_fork, current_id, is_main_thread, main_thread_ids,
    native_id, page_size, record_main_thread, set_current_name, spawn_shared, thread_cpu_time,
};
