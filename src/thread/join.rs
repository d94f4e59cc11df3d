//! The wait of [`Thread::join`] and [`Thread::join_timeout`]: the state word (`handle.rs`),
//! then the OS thread (`entry.rs`); the main thread's handle is done once the shutdown began.

use super::inner::{Kind, wait_state};
use super::{FINISHED, NEW, STARTING, Thread};
use crate::error::Error;
use crate::rt::os;
use core::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::Instant;

impl Thread {
    /// `deadline`: `None` = no timeout; `Some(None)` = a timeout too large for the clock.
    pub(super) fn join_deadline(&self, deadline: Option<Option<Instant>>) -> Result<bool, Error> {
        let inner = &self.inner;
        let s = inner.state.load(Acquire);
        if s == NEW || s == STARTING {
            // (A `STARTING` thread's `start()` has not got it from the OS yet.)
            return Err(Error::NotStarted);
        }
        if s != FINISHED && inner.ident.load(Relaxed) == os::current_id() {
            return Err(Error::JoinSelf);
        }
        match inner.kind() {
            Kind::Normal => {}
            // The main thread is joinable from other threads, as in CPython: it is done once
            // the shutdown (after `main` returns) has begun; there is no OS thread to join.
            Kind::Main if !os::is_main_thread() => {
                return Ok(wait_state(inner, |s| s == FINISHED, deadline.flatten()));
            }
            Kind::Main => return Err(Error::JoinSelf),
            _ => return Err(Error::DummyThread),
        }
        // A finished thread whose `thread_local!` destructors join it: it cannot wait for its
        // own end. (Its ident is still its own: a joinable thread's ident is not reused.)
        let other = inner.ident.load(Relaxed) != os::current_id();
        if deadline.is_none() && other {
            // No timeout: the OS join alone waits for everything, as the thread stores
            // `FINISHED` before it ends (in a fork child, the parent's threads are `FINISHED`
            // already and have nothing to join).
            inner.os.join();
        }
        if !wait_state(inner, |s| s == FINISHED, deadline.flatten()) {
            return Ok(false);
        }
        if other {
            inner.os.join(); // at once if joined above
        }
        Ok(true)
    }
}
