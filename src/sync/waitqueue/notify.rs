//! The notifier side of [`WaitQueue`]: `notify` (release up to `n` of the oldest waiters,
//! at most a window of them at once, the rest `CHAINED`) and `pass_token` (a released waiter
//! back in the lock hands its token to the oldest `CHAINED` one). A part of `waitqueue/mod.rs`,
//! whose module docs hold the node word's table and diagram, the token protocol and the
//! memory ordering; the waiter side (`wait`, `sleep`, `withdraw`) stays there.
//!
//! # Awake first (`Condvar::notify_one`)
//!
//! In [`Order::AwakeFirst`] a `notify(1)` whose oldest waiter sleeps releases the *newest*
//! waiter instead if that one is still awake (`WAITING`: spinning before it sleeps), with no
//! system call; the sleeper stays linked, still the oldest. Waking a sleeper costs a futex
//! wake-up here and a thread's whole wake-up latency there (20-35 us on a virtual CPU that had
//! gone idle), where the awake waiter takes the item a few hundred nanoseconds later. In a
//! one-slot queue with one producer and ten consumers (the "webkit" rows of the benchmarks) the
//! consumer that just took an item waits again, spinning, and the producer's next notify
//! releases it: the two run as a ping-pong while the others sleep, where FIFO woke a sleeper,
//! who then slept again, at every item (figures in docs/benchmarks-history.md). Two more rules keep
//! that pair spinning rather than sleeping. A notify that had to wake a sleeper records it as
//! the notifier's partner (`rt::woke_partner`) even with other waiters left: its next wait
//! (the producer's wait for room) is answered by the woken one, who takes 20-35 us to run, so
//! that wait may spin until 50 us after the call; and a waiter behind others keeps such a
//! record, for it may be the next one released. A waiter behind others also leaves the spin
//! hint as it is after a long sleep (it may set it, never clear it): its sleep was long
//! because the awake ones went first, not because no partner answers soon. Fairness is
//! bounded: the same oldest sleeper is passed over at most [`PASS_MAX`] times in a row, then
//! released (its node counts the passes, under the guard).
//! Condition variables in general promise no wake-up order; one that lets waiters return
//! spuriously (a running waiter then takes what a notified sleeper was woken for) has the
//! same effect with a system call per notify. `Condition` keeps Python's FIFO (`Order::Fifo`).

use super::list::Node;
use super::{CHAINED, NOTIFIED, Queue, RELEASED, TOKEN, TOKENS, WAITING, WOKEN};
use crate::Lock;
use crate::rt::{AtomicU32, notify_window, wake_one, woke_partner};
use std::sync::atomic::Ordering::{Relaxed, Release};

/// Which waiter a `notify(1)` releases: the queue's users keep to one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// The oldest (`Condition`: Python's `notify(n)` wakes the `n` oldest).
    Fifo,
    /// The newest if it is still awake and the oldest sleeps (`Condvar::notify_one`: see
    /// "Awake first"); `notify(n > 1)` stays FIFO.
    AwakeFirst,
}

/// How many times in a row an [`Order::AwakeFirst`] notify may pass over the same oldest
/// sleeper for an awake waiter (see "Awake first").
pub(super) const PASS_MAX: u32 = 64;

/// The wake-up calls of one `notify`, made once it has released the guard: a waiter that links
/// itself meanwhile (or times out, or passes a token) then never waits for the guard while the
/// notifier sits in a system call (with the lock free, as in a `Condvar` notified after the
/// mutex was dropped, that was one more sleep and wake-up per item). The addresses may dangle
/// by then, which `wake_one` allows: at worst a later sleeper on the reused address wakes
/// spuriously, and every sleeper re-checks its word.
struct Wakes {
    words: [*const AtomicU32; Wakes::MAX],
    len: usize,
}

impl Wakes {
    /// Wakes held back at most; a notify releases at most the window (16) plus one at once.
    const MAX: usize = 17;

    fn new() -> Wakes {
        Wakes {
            words: [core::ptr::null(); Wakes::MAX],
            len: 0,
        }
    }

    /// Holds back the wake-up of `word`, or makes it at once if `MAX` are held back already.
    fn push(&mut self, word: *const AtomicU32) {
        match self.words.get_mut(self.len) {
            Some(slot) => {
                *slot = word;
                self.len += 1;
            }
            None => wake_one(word),
        }
    }

    fn wake(self) {
        for &word in &self.words[..self.len] {
            wake_one(word);
        }
    }
}

impl Queue<'_> {
    /// Notifies up to `n` of the oldest waiters; returns how many. The lock is `lock`, or if
    /// `None` each node's key, the lock its owner released (`Condvar`, which may be notified
    /// without the mutex).
    ///
    /// While fewer tokens than the window are out, each is released at once: counted on the
    /// user's lock and moved onto its futex if the lock is held (and the waiter asleep), woken
    /// to acquire normally if the lock is free or the waiter still spinning; it gets a token if
    /// more follow in this call. Once the window is full, every other one becomes `CHAINED`:
    /// notified, but left asleep in the queue until a token reaches it, so a `notify_all` never
    /// makes more than the window wake at once to compete for the lock, and makes at most one
    /// system call per waiter in the window however many it notifies.
    pub(super) fn notify(self, n: usize, lock: Option<&Lock>, order: Order) -> usize {
        if n == 0 {
            return 0;
        }
        self.check_generation();
        self.lock_guard();
        // SAFETY: we hold the guard. `CHAINED` nodes are always the oldest: skip past them.
        let mut cursor = unsafe { self.head() };
        // SAFETY: a non-null `cursor` is a linked, hence valid, node (we hold the guard).
        while let Some(node) = unsafe { cursor.as_ref() } {
            if node.word.load(Relaxed) != CHAINED {
                break;
            }
            // SAFETY: as above.
            cursor = unsafe { node.next.with(|x| *x) };
        }
        if order == Order::AwakeFirst && n == 1 {
            // SAFETY: we hold the guard; `cursor` is null or linked.
            cursor = unsafe { self.awake_first(cursor) };
        }
        let window = notify_window();
        let mut wakes = Wakes::new();
        let mut done = 0;
        // Sleepers released (woken, or moved onto the lock's word for its unlock to wake).
        let mut slept = 0;
        while done < n {
            // SAFETY: a non-null `cursor` is a linked, hence valid, node (we hold the guard).
            let Some(node) = (unsafe { cursor.as_ref() }) else {
                break;
            };
            // SAFETY: as above.
            cursor = unsafe { node.next.with(|x| *x) };
            done += 1;
            if (self.flags.load(Relaxed) & TOKENS) / TOKEN >= window {
                // Transition: WAITING or SLEEPING -> CHAINED (a swap: the owner's own
                // WAITING -> SLEEPING compare-and-swap then fails, or its sleep on SLEEPING
                // goes on, now on CHAINED). It stays linked; no system call.
                node.word.swap(CHAINED, Release);
                continue;
            }
            // SAFETY: we hold the guard and `node` is linked.
            unsafe { self.unlink(node) };
            if done < n && !cursor.is_null() {
                // More follow in this call: this one carries a token to them.
                // Transition: one more token out.
                self.flags.fetch_add(TOKEN, Relaxed);
                // SAFETY: we hold the guard; the owner reads it after the word changes.
                unsafe { node.token.with_mut(|t| *t = true) };
            }
            // Transition: WAITING -> WOKEN: the owner is awake and will see it; no wake-up.
            // (`node` may be freed from here on.)
            if node
                .word
                .compare_exchange(WAITING, WOKEN, Release, Relaxed)
                .is_ok()
            {
                continue;
            }
            // SLEEPING: only we (under the guard) move it on from here.
            slept += 1;
            let lock = match lock {
                Some(l) => l,
                // SAFETY: `node`'s owner is blocked in `wait` borrowing the lock at its key, and
                // cannot return before we release the node (or drop the guard): the lock is live.
                None => unsafe { &*node.key },
            };
            // Counted on the lock and moved onto its word only while the lock is held (its
            // unlock will wake it) and not handed over (a waiter counted now must not claim a
            // hold that belongs to the waiters counted before the hand-over).
            if !lock.locked() || !lock.add_waiter() {
                // Nobody would wake a requeued sleeper soon, or it may not be counted: wake it
                // to acquire normally.
                let word: *const AtomicU32 = &node.word;
                node.word.store(WOKEN, Release);
                // (`node` may be freed from here on; `wake_one` accepts a dangling address.)
                wakes.push(word);
                continue;
            }
            node.word.store(NOTIFIED, Release);
            // SAFETY: `node.word` is live: its owner cannot return before we store RELEASED
            // below or drop the guard, and we do neither before this call returns.
            unsafe { lock.requeue_from(&node.word, NOTIFIED) };
            node.word.store(RELEASED, Release);
        }
        // The one waiter there was (or, awake first, the one chosen), asleep, released: a
        // partner this thread's next wait probably depends on (a ping-pong, a one-slot
        // queue); see `rt::woke_partner` and "Awake first".
        // SAFETY: we hold the guard.
        let partner = done == 1
            && slept == 1
            && (order == Order::AwakeFirst || unsafe { self.head() }.is_null());
        self.unlock_guard();
        wakes.wake();
        if partner {
            woke_partner();
        }
        done
    }

    /// The waiter an [`Order::AwakeFirst`] `notify(1)` releases (see "Awake first"): `oldest`
    /// (the oldest not notified), unless it sleeps, the newest waiter is still awake, and
    /// `oldest` was passed over fewer than [`PASS_MAX`] times; then the newest. (The newest is
    /// never `CHAINED`: chained nodes are the oldest, and `oldest` is past them.) Its state
    /// may change before the notify's compare-and-swap: an owner that has gone to sleep
    /// meanwhile is woken, as any sleeper.
    ///
    /// # Safety
    /// The caller holds the guard; `oldest` is null or a linked node.
    unsafe fn awake_first(self, oldest: *const Node) -> *const Node {
        // SAFETY: the caller holds the guard; linked nodes are valid and their links ours.
        unsafe {
            let Some(node) = oldest.as_ref() else {
                return oldest;
            };
            if node.word.load(Relaxed) == WAITING {
                return oldest;
            }
            let tail = self.tail();
            if core::ptr::eq(tail, oldest) || (*tail).word.load(Relaxed) != WAITING {
                return oldest;
            }
            let passed = node.passed.with(|p| *p);
            if passed >= PASS_MAX {
                return oldest;
            }
            node.passed.with_mut(|p| *p = passed + 1);
            tail
        }
    }

    /// Called by a waiter that was given the token, once it has the user's lock again: gives
    /// the token to the oldest `CHAINED` waiter and wakes it (to acquire normally), or, if
    /// there is none, returns the token (one fewer out).
    #[cold]
    pub(super) fn pass_token(self) {
        self.lock_guard();
        // SAFETY: we hold the guard; a linked node is valid while we hold it.
        let head = unsafe { self.head() };
        // SAFETY: a non-null head is a linked, hence valid, node.
        match unsafe { head.as_ref() } {
            Some(node) if node.word.load(Relaxed) == CHAINED => {
                // SAFETY: we hold the guard and `node` is linked; its owner reads `token` only
                // after it sees the word change below.
                unsafe {
                    self.unlink(node);
                    node.token.with_mut(|t| *t = true);
                }
                let word: *const AtomicU32 = &node.word;
                // Transition: CHAINED -> WOKEN (its owner may free the node from here on).
                node.word.store(WOKEN, Release);
                self.unlock_guard();
                wake_one(word); // may dangle: allowed by the seam
            }
            _ => {
                // Transition: one token fewer out.
                self.flags.fetch_sub(TOKEN, Relaxed);
                self.unlock_guard();
            }
        }
    }
}
