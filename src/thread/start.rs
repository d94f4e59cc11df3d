//! [`Thread::start`]: claims the thread, lists it, has the OS create it, and returns without
//! waiting for it to run (the state word's `STARTING -> STARTED`, see `handle.rs`).

use super::inner::STACK_DEFAULT;
use super::lifecycle::ensure_at_exit;
use super::{Kind, NEW, STARTED, STARTING, Thread, registry};
use crate::error::Error;
use crate::rt::os;
use core::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};

impl Thread {
    /// Starts the thread and returns once the OS has created it (it is registered, alive and
    /// joinable; its ids are there when asked for: see the module docs).
    /// Python: `Thread.start()`.
    ///
    /// Errors: [`Error::AlreadyStarted`] on a second call, [`Error::InvalidStackSize`] for a
    /// stack below 32 KiB, [`Error::Os`] when the OS refuses (then nothing changed and the
    /// thread may be started again).
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// t.start().unwrap();
    /// assert!(matches!(t.start(), Err(threadkit::Error::AlreadyStarted)));
    /// t.join().unwrap();
    /// ```
    pub fn start(&self) -> Result<(), Error> {
        let inner = &*self.inner;
        if inner.kind() != Kind::Normal || inner.state.load(Acquire) != NEW {
            return Err(Error::AlreadyStarted);
        }
        let size = match inner.stack_size.load(Relaxed) {
            STACK_DEFAULT => super::stack::stack_size(),
            n => n,
        };
        let size = super::stack::round_stack(size)?;
        ensure_at_exit();
        // Transition NEW -> STARTING (and listed): this call owns the start.
        if !registry::register_starting(&self.inner) {
            return Err(Error::AlreadyStarted);
        }
        // The new thread's reference is the `Arc`'s own pointer: nothing is allocated for
        // the hand-over, so a thread whose target does not allocate never sets up the
        // allocator's per-thread cache (about a tenth of a start + join).
        match os::spawn_shared(size, self.inner.clone()) {
            Ok(raw) => {
                inner.os.set(raw);
                // An unnamed thread has its "Thread-N" number by the time `start()` returns
                // (it or we take it, whoever comes first; a refused start takes none), so a
                // `Thread::new` after this `start()` gets a later number.
                inner.take_number();
            }
            Err(e) => {
                // The reference was dropped by `spawn_shared`.
                registry::unregister_unstarted(&self.inner);
                return Err(Error::Os(e));
            }
        }
        // Transition STARTING -> STARTED, unless the thread got to RUNNING (or further) first.
        if inner
            .state
            .compare_exchange(STARTING, STARTED, SeqCst, Relaxed)
            .is_ok()
        {
            inner.wake_state(); // a shutdown waiting for the start to end
        }
        Ok(())
    }
}
