//! The engine every queue type runs on: a [`Lock`] over the items and the counts, and three
//! futex words that sleepers wait on. See the module docs of `queue` for the protocol.

pub(crate) use super::block::Block;
use super::error::{GetError, PutError};
use super::inner::Inner;
use super::store::Store;
use crate::Lock;
use crate::rt::{
    AtomicBool, AtomicU32, AtomicUsize, Spun, UnsafeCell, set_hint, spin, wait, wake_all, wake_n,
    wake_one, woke_partner,
};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// Hint bit of [`Engine::hints`]: the last getter that had to wait was released soon.
const GET_SPUN: u32 = 1;
/// Hint bit of [`Engine::hints`]: the last putter that had to wait was released soon.
const PUT_SPUN: u32 = 2;

/// A queue: items in the order `S` keeps, Python's counts, the sleepers' words.
pub(crate) struct Engine<S> {
    lock: Lock,
    inner: UnsafeCell<Inner<S>>,
    /// 0: unbounded.
    maxsize: usize,
    /// Whether `put` counts unfinished tasks (not for `SimpleQueue`).
    tasks: bool,
    /// The store's length, written under the lock, read without it (`qsize`, spins).
    len: AtomicUsize,
    /// `Inner::shutdown`, readable without the lock.
    shut: AtomicBool,
    /// Bumped (under the lock) when an item arrives for counted getters, or on shutdown.
    not_empty: AtomicU32,
    /// Bumped (under the lock) when room appears for counted putters, or on shutdown.
    not_full: AtomicU32,
    /// Bumped (under the lock) when the unfinished count reaches zero with joiners counted.
    all_done: AtomicU32,
    /// `GET_SPUN` / `PUT_SPUN`: spin hints only.
    hints: AtomicU32,
}

// SAFETY: the items (`S::Item: Send`) move between threads only through `inner`, which is
// only touched while `lock` is held (see `Held`), so sharing `&Engine` is like sharing a
// `Mutex<S>`; every other field is an atomic.
unsafe impl<S: Store> Sync for Engine<S> where S::Item: Send {}

/// Wake-all requests carried by a [`Held`] to its unlock.
const ALL_GETTERS: u8 = 1;
const ALL_PUTTERS: u8 = 2;
const ALL_JOINERS: u8 = 4;

/// The lock, held. On drop (also when user code panicked under it) it brings the length
/// mirror and the unfinished count in line with the store, bumps the words whose sleepers
/// must look again, unlocks, and only then makes the wake-up calls.
struct Held<'a, S: Store> {
    e: &'a Engine<S>,
    before: usize, // the store's length when the lock was taken
    /// `ALL_*` requests.
    all: u8,
}

impl<S: Store> Held<'_, S> {
    #[inline]
    fn with<R>(&mut self, f: impl FnOnce(&mut Inner<S>) -> R) -> R {
        // SAFETY: a `Held` exists only while its thread holds `lock`, which every access to
        // `inner` requires, so this is the only reference to it; it does not outlive `f`.
        self.e.inner.with_mut(|p| f(unsafe { &mut *p }))
    }

    /// Unlocks, sleeps on `word` while it still reads `seq` (or until `deadline`), relocks.
    fn sleep(self, word: &AtomicU32, seq: u32, deadline: Option<Instant>) -> Self {
        let e = self.e;
        drop(self);
        wait(word, seq, deadline);
        e.lock()
    }
}

impl<S: Store> Drop for Held<'_, S> {
    #[inline]
    fn drop(&mut self) {
        let (before, all, e) = (self.before, self.all, self.e);
        let (getters, putters) = self.with(|i| {
            let now = i.store.len();
            let (mut g, mut p) = (0, 0);
            if now > before {
                if e.tasks {
                    i.unfinished += now - before;
                }
                if i.getters.uncovered() && all & ALL_GETTERS == 0 {
                    e.not_empty.fetch_add(1, Relaxed);
                    g = i.getters.issue(now - before);
                }
            } else if now < before && i.putters.uncovered() && all & ALL_PUTTERS == 0 {
                e.not_full.fetch_add(1, Relaxed);
                p = i.putters.issue(before - now);
            }
            if now != before {
                e.len.store(now, Relaxed);
            }
            (g, p)
        });
        let released = e.lock.release();
        debug_assert!(released.is_ok());
        if getters > 0 {
            e.wake(&e.not_empty, getters);
        }
        if putters > 0 {
            e.wake(&e.not_full, putters);
        }
        if all != 0 {
            e.wake_all_requested(all);
        }
    }
}

impl<S: Store> Engine<S> {
    pub(crate) fn new(maxsize: usize, tasks: bool) -> Self {
        Engine {
            lock: Lock::new(),
            inner: UnsafeCell::new(Inner::new(S::new())),
            maxsize,
            tasks,
            len: AtomicUsize::new(0),
            shut: AtomicBool::new(false),
            not_empty: AtomicU32::new(0),
            not_full: AtomicU32::new(0),
            all_done: AtomicU32::new(0),
            hints: AtomicU32::new(0),
        }
    }

    #[inline]
    fn lock(&self) -> Held<'_, S> {
        self.lock.acquire();
        let mut held = Held {
            e: self,
            before: 0,
            all: 0,
        };
        held.before = held.with(|i| {
            i.forget_vanished_sleepers();
            i.store.len()
        });
        held
    }

    /// Unit tests: counts a getter (`true`) or putter in as a waiter does before it sleeps,
    /// without sleeping (a waiter woken but not yet run, as far as wakers can tell).
    #[cfg(all(test, not(threadkit_loom)))]
    pub(super) fn count_in_waiter(&self, getter: bool) {
        let mut held = self.lock();
        held.with(|i| match getter {
            true => i.getters.count_in(),
            false => i.putters.count_in(),
        });
    }

    #[inline]
    fn wake(&self, word: &AtomicU32, n: usize) {
        if n == 1 {
            wake_one(word);
            woke_partner();
        } else {
            wake_n(word, n);
        }
    }

    #[cold]
    fn wake_all_requested(&self, all: u8) {
        if all & ALL_GETTERS != 0 {
            wake_all(&self.not_empty);
        }
        if all & ALL_PUTTERS != 0 {
            wake_all(&self.not_full);
        }
        if all & ALL_JOINERS != 0 {
            wake_all(&self.all_done);
        }
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    #[inline]
    pub(crate) fn qsize(&self) -> usize {
        self.len.load(Relaxed)
    }

    #[inline]
    pub(crate) fn full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    #[inline]
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shut.load(Relaxed)
    }

    #[inline]
    fn has_room(&self, i: &Inner<S>) -> bool {
        self.maxsize == 0 || i.store.len() < self.maxsize
    }

    /// Python's `put(item, block, timeout)`.
    #[inline]
    pub(crate) fn put(&self, item: S::Item, block: Block) -> Result<(), PutError<S::Item>> {
        let mut held = self.lock();
        let ok = held.with(|i| !i.shutdown && self.has_room(i));
        if ok {
            held.with(|i| i.store.push(item));
            return Ok(());
        }
        self.put_slow(held, item, block)
    }

    #[cold]
    fn put_slow<'a>(
        &'a self,
        mut held: Held<'a, S>,
        item: S::Item,
        block: Block,
    ) -> Result<(), PutError<S::Item>> {
        // None: no spin yet; Some(None): the spin saw room; Some(Some(s)): it did not.
        let mut spun: Option<Option<Spun>> = None;
        loop {
            let (shutdown, room) = held.with(|i| (i.shutdown, self.has_room(i)));
            if shutdown {
                return Err(PutError::ShutDown(item));
            }
            if room {
                held.with(|i| i.store.push(item));
                learn(&self.hints, PUT_SPUN, spun);
                return Ok(());
            }
            if block.expired() {
                return Err(PutError::Full(item));
            }
            if spun.is_none() {
                drop(held);
                let long = self.hints.load(Relaxed) & PUT_SPUN != 0;
                let r = spin(long, block.deadline(), || {
                    self.len.load(Relaxed) < self.maxsize || self.shut.load(Relaxed)
                });
                held = self.lock();
                spun = Some(r.err());
                continue;
            }
            let seq = held.with(|i| {
                i.putters.count_in();
                self.not_full.load(Relaxed)
            });
            held = held.sleep(&self.not_full, seq, block.deadline());
            held.with(|i| i.putters.leave());
        }
    }

    /// Python's `get(block, timeout)`.
    #[inline]
    pub(crate) fn get(&self, block: Block) -> Result<S::Item, GetError> {
        let mut held = self.lock();
        match held.with(|i| i.store.pop()) {
            Some(item) => Ok(item),
            None => self.get_slow(held, block),
        }
    }

    #[cold]
    fn get_slow<'a>(&'a self, mut held: Held<'a, S>, block: Block) -> Result<S::Item, GetError> {
        // As in `put_slow`.
        let mut spun: Option<Option<Spun>> = None;
        let mut first = true;
        loop {
            if !first {
                if let Some(item) = held.with(|i| i.store.pop()) {
                    learn(&self.hints, GET_SPUN, spun);
                    return Ok(item);
                }
            }
            first = false;
            if held.with(|i| i.shutdown) {
                return Err(GetError::ShutDown);
            }
            if block.expired() {
                return Err(GetError::Empty);
            }
            if spun.is_none() {
                drop(held);
                let long = self.hints.load(Relaxed) & GET_SPUN != 0;
                let r = spin(long, block.deadline(), || {
                    self.len.load(Relaxed) > 0 || self.shut.load(Relaxed)
                });
                held = self.lock();
                spun = Some(r.err());
                continue;
            }
            let seq = held.with(|i| {
                i.getters.count_in();
                self.not_empty.load(Relaxed)
            });
            held = held.sleep(&self.not_empty, seq, block.deadline());
            held.with(|i| i.getters.leave());
        }
    }

    /// Python's `task_done()`: `false` when called more often than items were put.
    pub(crate) fn task_done(&self) -> bool {
        let mut held = self.lock();
        let (ok, wake) = held.with(|i| match i.unfinished {
            0 => (false, false),
            n => {
                i.unfinished = n - 1;
                let wake = n == 1 && i.joiners > 0;
                if wake {
                    self.all_done.fetch_add(1, Relaxed);
                }
                (true, wake)
            }
        });
        if wake {
            held.all |= ALL_JOINERS;
        }
        ok
    }

    /// Python's `join()`: `false` if `block` ran out first.
    pub(crate) fn join(&self, block: Block) -> bool {
        let mut held = self.lock();
        loop {
            if held.with(|i| i.unfinished == 0) {
                return true;
            }
            if block.expired() {
                return false;
            }
            let seq = held.with(|i| {
                i.joiners += 1;
                self.all_done.load(Relaxed)
            });
            held = held.sleep(&self.all_done, seq, block.deadline());
            held.with(|i| i.joiners -= 1);
        }
    }

    /// Python's `shutdown(immediate)`; returns the items an immediate shutdown removed, in
    /// `get` order.
    pub(crate) fn shutdown(&self, immediate: bool) -> Vec<S::Item> {
        let mut held = self.lock();
        let mut removed = Vec::new();
        self.shut.store(true, Relaxed);
        // Every word's sleepers look again (set first: a panicking `Ord` in the drain below
        // still leaves through `Held::drop`, which makes the calls).
        held.all = held.with(|i| {
            i.shutdown = true;
            let mut all = 0;
            if i.getters.n > 0 {
                self.not_empty.fetch_add(1, Relaxed);
                i.getters.wake_all();
                all |= ALL_GETTERS;
            }
            if i.putters.n > 0 {
                self.not_full.fetch_add(1, Relaxed);
                i.putters.wake_all();
                all |= ALL_PUTTERS;
            }
            all
        });
        if immediate {
            held.with(|i| {
                i.store.drain_into(&mut removed);
                i.unfinished = i.unfinished.saturating_sub(removed.len());
                if i.joiners > 0 {
                    self.all_done.fetch_add(1, Relaxed);
                }
            });
            if held.with(|i| i.joiners > 0) {
                held.all |= ALL_JOINERS;
            }
        }
        removed
    }
}

/// After a wait that succeeded: turns the spin hint `bit` of `hints` on if the spin caught
/// the release or the whole wait was short, off otherwise (see `rt::spin`). For both engines
/// (this one and the ring's, `fifo.rs`).
#[inline]
pub(super) fn learn(hints: &AtomicU32, bit: u32, spun: Option<Option<Spun>>) {
    let on = match spun {
        None => return,
        Some(None) => true,
        Some(Some(s)) => s.after_sleep(),
    };
    let was = hints.load(Relaxed) & bit != 0;
    set_hint(hints, bit, was, on);
}
