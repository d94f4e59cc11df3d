//! Python's `threading._shutdown`: at process exit, mark the main thread done, join every
//! started non-daemon thread, then drop the main thread's `Local` values. Registered with `at_exit` on first need.

use crate::rt::os::{self, AtomicBool};
use crate::thread::inner::wait_state;
use crate::thread::registry;
use crate::thread::{FINISHED, Kind, STARTING};
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// Whether [`shutdown`] is registered with `at_exit`.
static AT_EXIT_SET: AtomicBool = AtomicBool::new(false);

/// Registers [`shutdown`] to run at process exit (once); `false` where it cannot be (Miri has
/// no `atexit`: there the shutdown rule is tested in a real process instead).
pub(crate) fn ensure_at_exit() -> bool {
    if cfg!(miri) {
        return false;
    }
    if !AT_EXIT_SET.load(Acquire) && !AT_EXIT_SET.swap(true, AcqRel) {
        os::at_exit(shutdown);
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
    let me = os::current_id();
    if os::is_main_thread() {
        // First, as CPython: `main_thread().join()` in other threads returns now.
        registry::main_finished();
    }
    loop {
        let next = registry::find(|t| {
            t.kind() == Kind::Normal
                && !t.is_daemon()
                && t.ident.load(Relaxed) != me
                && t.state.load(Acquire) != FINISHED
        });
        let Some(t) = next.map(crate::thread::Thread::from_arc) else {
            break;
        };
        if t.inner.state.load(Acquire) == STARTING {
            // Listed before its OS thread exists: wait until it runs (or the OS refused it).
            wait_state(&t.inner, |s| s != STARTING, None);
        } else {
            let _ = t.join();
        }
    }
    if os::is_main_thread() {
        crate::thread::local::main_thread_exit();
    }
}
