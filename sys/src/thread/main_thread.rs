//! Which thread is the process's main thread, and its ids (Python's `threading.main_thread()`
//! knows them from the start, whichever thread first asks).
//!
//! On every system a constructor placed in the executable's init section (`.init_array`,
//! `__mod_init_func`, `.CRT$XCU`) records the [`current_id`](crate::current_id) and
//! [`native_id`](crate::native_id) of the thread that runs it, which is the main thread,
//! before `main` starts; a fork child records its only thread with [`record_main_thread`].
//! On Linux and Android the main thread is also the one whose kernel thread id equals the
//! process id (`gettid() == getpid()`, which holds in a `fork()` child for the thread that
//! forked): [`is_main_thread`] asks that there.

/// Whether the caller is the process's main thread (in a fork child: the thread that forked,
/// once [`record_main_thread`] ran there).
///
/// ```
/// let t = threadkit_sys::spawn(0, Box::new(|| assert!(!threadkit_sys::is_main_thread())));
/// t.unwrap().join().unwrap();
/// ```
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn is_main_thread() -> bool {
    super::native_id() == u64::from(std::process::id())
}

mod recorded {
    use core::sync::atomic::AtomicU64;
    use core::sync::atomic::Ordering::Relaxed;

    /// The main thread's [`current_id`](crate::current_id); 0 until the constructor ran.
    static MAIN_ID: AtomicU64 = AtomicU64::new(0);
    /// The main thread's [`native_id`](crate::native_id); 0 until the constructor ran.
    static MAIN_NATIVE: AtomicU64 = AtomicU64::new(0);

    /// The main thread's `(current_id, native_id)`, as recorded before `main` (or by
    /// [`record_main_thread`] in a fork child); `None` where no init-section constructor ran.
    ///
    /// ```
    /// let (id, native) = threadkit_sys::main_thread_ids().unwrap();
    /// assert!(id != 0 && native != 0);
    /// assert_eq!(threadkit_sys::main_thread_ids(), Some((id, native))); // recorded once
    /// ```
    pub fn main_thread_ids() -> Option<(u64, u64)> {
        let id = MAIN_ID.load(Relaxed);
        let native = MAIN_NATIVE.load(Relaxed);
        (id != 0 && native != 0).then_some((id, native))
    }

    /// Whether the caller is the process's main thread (in a fork child: the thread that
    /// forked, once [`record_main_thread`] ran there).
    ///
    /// ```
    /// let t = threadkit_sys::spawn(0, Box::new(|| assert!(!threadkit_sys::is_main_thread())));
    /// t.unwrap().join().unwrap();
    /// ```
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn is_main_thread() -> bool {
        let id = MAIN_ID.load(Relaxed);
        id != 0 && id == crate::current_id()
    }

    /// Records the calling thread as the process's main thread: what a `fork()` child calls on
    /// its only thread (and what the constructor below does before `main`).
    ///
    /// ```no_run
    /// // In a fork child, on the thread that forked:
    /// threadkit_sys::record_main_thread();
    /// assert!(threadkit_sys::is_main_thread());
    /// ```
    pub fn record_main_thread() {
        MAIN_NATIVE.store(crate::native_id(), Relaxed);
        MAIN_ID.store(crate::current_id(), Relaxed);
    }

    extern "C" fn record_main_thread_ctor() {
        record_main_thread();
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
    static RECORD_MAIN: extern "C" fn() = record_main_thread_ctor;
}
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub use recorded::is_main_thread;
pub use recorded::{main_thread_ids, record_main_thread};
