//! The loom model of the futex (`cfg(threadkit_loom)` only).
//!
//! A table of sleepers, each `(address, woken)`, under one loom `Mutex`, with one loom
//! `Condvar`. `wait` checks the value and registers under the mutex, then blocks on the
//! condvar until *its own* entry is marked woken; `wake_one` marks exactly one sleeper of that
//! address, `wake_n` up to `n` of them (the oldest first), `wake_all` all of them,
//! `requeue_one` re-keys one. A sleeper is never released by
//! anything but a wake, so a missing wake-up leaves it blocked and loom reports the deadlock.
//! A wait with a deadline models "the deadline passes at some point": it yields once and then
//! gives up unless it was woken meanwhile.

pub(crate) use loom::cell::UnsafeCell;
use loom::sync::Condvar;
use loom::sync::Mutex;
pub(crate) use loom::sync::atomic::fence;
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

struct Sleeper {
    addr: usize,
    ticket: usize,
    woken: bool,
}

#[derive(Default)]
struct Table {
    sleepers: Vec<Sleeper>,
    next_ticket: usize,
}

loom::lazy_static! {
    static ref TABLE: (Mutex<Table>, Condvar) = (Mutex::new(Table::default()), Condvar::new());
}

pub(crate) fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    let (mutex, condvar) = &*TABLE;
    let mut t = mutex.lock().unwrap();
    if atom.load(SeqCst) != expected {
        return true;
    }
    let ticket = t.next_ticket;
    t.next_ticket += 1;
    t.sleepers.push(Sleeper {
        addr: atom as *const AtomicU32 as usize,
        ticket,
        woken: false,
    });
    let woken = |t: &Table| t.sleepers.iter().any(|s| s.ticket == ticket && s.woken);
    if deadline.is_some() {
        drop(t);
        loom::thread::yield_now();
        t = mutex.lock().unwrap();
    } else {
        while !woken(&t) {
            t = condvar.wait(t).unwrap();
        }
    }
    let was_woken = woken(&t);
    t.sleepers.retain(|s| s.ticket != ticket);
    was_woken
}

fn wake(addr: usize, max: usize) {
    let (mutex, condvar) = &*TABLE;
    let mut t = mutex.lock().unwrap();
    let mut n = 0;
    for s in t.sleepers.iter_mut().filter(|s| s.addr == addr && !s.woken) {
        if n == max {
            break;
        }
        s.woken = true;
        n += 1;
    }
    if n > 0 {
        condvar.notify_all();
    }
}

pub(crate) fn wake_one(atom: *const AtomicU32) {
    wake(atom as usize, 1)
}

/// Marks up to `n` sleepers of `atom` woken, as one `FUTEX_WAKE` with count `n` would.
pub(crate) fn wake_n(atom: *const AtomicU32, n: usize) {
    wake(atom as usize, n)
}

pub(crate) fn wake_all(atom: *const AtomicU32) {
    wake(atom as usize, usize::MAX)
}

/// # Safety
/// `from` must be live for the call.
pub(crate) unsafe fn requeue_one(from: *const AtomicU32, expected: u32, to: *const AtomicU32) {
    let (mutex, condvar) = &*TABLE;
    let mut t = mutex.lock().unwrap();
    // SAFETY: the caller guarantees `from` is live for the call.
    let value = unsafe { (*from).load(SeqCst) };
    let from_addr = from as usize;
    if let Some(s) = t
        .sleepers
        .iter_mut()
        .find(|s| s.addr == from_addr && !s.woken)
    {
        if value == expected {
            s.addr = to as usize;
        } else {
            s.woken = true;
            condvar.notify_all();
        }
    }
}

loom::thread_local! {
    static ID_ANCHOR: u8 = 0;
}

/// Each loom thread has its own thread-local, so its address is a per-thread id.
pub(crate) fn current_thread_id() -> u64 {
    ID_ANCHOR.with(|a| a as *const u8 as u64)
}

/// The model's [`nap`](super::real::nap): loom's yield, which lets the other threads run.
pub(crate) fn nap(_round: u32) {
    loom::thread::yield_now()
}

/// Never reached under the model (spin limits are 0), kept for the shared signatures.
pub(crate) fn spin_hint() {}

/// Never reached under the model (spin limits are 0), kept for the shared signatures.
pub(crate) const fn steps_for(_ns: u32) -> u32 {
    1
}

/// Loom models no `fork()`: always the first generation.
#[inline]
pub(crate) fn fork_generation() -> u32 {
    0
}

pub(crate) fn may_spin() -> bool {
    true
}

/// Nothing spins under the model (see [`spin_limit`]), so the answer changes nothing.
pub(crate) fn fit_beside(_others: u32) -> bool {
    true
}

/// The notify window under the model: 1 unless the test sets [`LOOM_NOTIFY_WINDOW`], so the
/// token-chain models stay small and the window's count is modelled where it matters.
pub(crate) fn notify_window() -> u32 {
    LOOM_NOTIFY_WINDOW.with(|w| w.get())
}

std::thread_local! {
    /// Configuration, not state: set by a test before `loom::model`, whose threads all run
    /// on the test's own OS thread, so parallel tests do not see each other's setting.
    pub(crate) static LOOM_NOTIFY_WINDOW: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// No busy-waiting under the model: loom's `yield_now` parks the spinner until another
/// thread acts, which would hide the interleavings where it goes to sleep first (a model with
/// a deleted wake-up passed while spinning was on). Spinning only ever delays the sleep path.
pub(crate) const fn spin_limit(_n: u32) -> u32 {
    0
}

/// The model's clock of deadlines, which stands still (the time of its first reading): a
/// deadline set from a zero timeout has passed from the start, any other never passes by the
/// clock, and a timed wait models "the deadline passes at some point" by itself (see
/// [`wait`]). A real clock would let the model take a different branch when an iteration
/// happens to run slowly, and loom requires every branch to be decided by the interleaving
/// alone ("Reached unexpected exploration state" otherwise: a 1 ms timeout did that once).
pub(crate) fn now() -> Instant {
    // loom runs a model's threads as coroutines on the test's own thread: one value per test.
    std::thread_local! {
        static START: core::cell::Cell<Option<Instant>> = const { core::cell::Cell::new(None) };
    }
    START.with(|start| {
        let t = start.get().unwrap_or_else(Instant::now);
        start.set(Some(t));
        t
    })
}

/// The model's stopwatch: the limit counts as exceeded from the second look on, so loom
/// explores both sides of every starvation check without reading the real clock.
#[derive(Debug, Default)]
pub(crate) struct Stopwatch(u32);

impl Stopwatch {
    pub(crate) fn exceeded(&mut self, _limit: std::time::Duration) -> bool {
        self.0 += 1;
        self.0 > 1
    }
}
