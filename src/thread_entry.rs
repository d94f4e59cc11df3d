//! The first and last thing a threadkit thread does: the body handed to the OS thread.
//!
//! ```text
//!  set TLS handle, ids, OS name -> register -> RUNNING (start() returns)
//!  -> trace hook, profile Start -> target (panics caught) -> excepthook if it panicked
//!  -> profile Exit -> drop this thread's Local values -> unregister -> FINISHED (joins return)
//! ```
//!
//! Nothing here unwinds into the OS entry: the hooks and the target run inside
//! `catch_unwind`, and so do the drops of panic payloads.

use crate::registry::{self, rt::wake_all};
use crate::thread::{FINISHED, RUNNING, Thread};
use core::sync::atomic::Ordering::{Relaxed, Release};
use std::time::Instant;

/// The new thread's whole life. Never unwinds: the target's panic is caught here.
pub(crate) fn run(me: Thread) {
    let inner = &*me.inner;
    registry::set_current(&me);
    inner.native.store(threadkit_sys::native_id(), Relaxed);
    inner.ident.store(threadkit_sys::current_id(), Relaxed);
    let name = me.name();
    threadkit_sys::set_current_name(&name);
    drop(name);
    registry::register(&me);
    // Transition STARTING -> RUNNING: `start()` may return.
    inner.state.store(RUNNING, Release);
    wake_all(&inner.state);

    // SAFETY: only this thread takes the target (see `Inner::target`), after the spawn
    // synchronised with the `Thread::new` that wrote it.
    let target = unsafe { (*inner.target.get()).take() };
    let wall = Instant::now();
    let profile = crate::hooks::getprofile();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(trace) = crate::hooks::gettrace() {
            trace(&me);
        }
        if let Some(p) = &profile {
            p(&me, crate::hooks::ThreadEvent::Start);
        }
        if let Some(f) = target {
            f();
        }
    }));
    if let Err(payload) = result {
        inner.panicked.store(true, Release);
        crate::hooks::report_panic(&me, &*payload);
        if inner.keep_payload.load(Relaxed) {
            // SAFETY: only this thread writes the payload, before `FINISHED`.
            unsafe { *inner.payload.get() = Some(payload) };
        } else {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload)));
        }
    }
    if let Some(p) = profile {
        let event = crate::hooks::ThreadEvent::Exit {
            wall: wall.elapsed(),
            cpu: threadkit_sys::thread_cpu_time(),
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p(&me, event)));
    }
    crate::local::thread_exit();
    registry::unregister(&me);
    // Transition RUNNING -> FINISHED: joiners may return.
    inner.state.store(FINISHED, Release);
    wake_all(&inner.state);
}
