//! Which thread is the process's main thread (Python's `threading.main_thread()` needs it).
//!
//! On Linux and Android the main thread is the one whose kernel thread id equals the process
//! id (`gettid() == getpid()`), which also holds in a `fork()` child for the thread that forked.
//! On the other systems a constructor placed in the executable's init section
//! (`__mod_init_func`, `.init_array`, `.CRT$XCU`) records the id of the thread that runs it,
//! which is the main thread, before `main` starts; a fork child records its only thread with
//! [`record_main_thread`].

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

/// Records the calling thread as the process's main thread: what a `fork()` child calls on its
/// only thread. Nothing to record on Linux and Android, where the main thread is the one whose
/// thread id is the process id.
///
/// ```no_run
/// // In a fork child, on the thread that forked:
/// threadkit_sys::record_main_thread();
/// assert!(threadkit_sys::is_main_thread());
/// ```
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn record_main_thread() {}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod recorded {
    use core::sync::atomic::AtomicU64;
    use core::sync::atomic::Ordering::Relaxed;

    /// The main thread's [`current_id`](crate::current_id); 0 until the constructor ran.
    static MAIN_ID: AtomicU64 = AtomicU64::new(0);

    /// Whether the caller is the process's main thread (in a fork child: the thread that
    /// forked, once [`record_main_thread`] ran there).
    ///
    /// ```
    /// let t = threadkit_sys::spawn(0, Box::new(|| assert!(!threadkit_sys::is_main_thread())));
    /// t.unwrap().join().unwrap();
    /// ```
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
pub use recorded::{is_main_thread, record_main_thread};
