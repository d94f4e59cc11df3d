//! [`WaitQueue`]: the FIFO of sleeping waiters behind `Condition` and `Condvar`.
//!
//! Each waiter links a [`Node`] that lives on its own stack (no allocation, no global table,
//! nothing to fix after `fork`) into an intrusive doubly linked list, and sleeps on the node's
//! own futex word. The list is guarded by a small internal [`Lock`] (`guard`), never by the
//! user's lock alone: a plain `Lock` counts as "held" by anybody once locked, and `Condvar`
//! may be notified without the mutex, so two notifiers can run at once.
//!
//! # The node word
//!
//! | value      | meaning                                                            |
//! |------------|--------------------------------------------------------------------|
//! | `WAITING`  | linked in the list, its owner awake (spinning before it sleeps)     |
//! | `SLEEPING` | linked in the list, its owner may be asleep on the word             |
//! | `NOTIFIED` | unlinked by a notifier, who counted the waiter on the user's lock and may still be requeueing it |
//! | `RELEASED` | the notifier is finished with the node: its owner may free it      |
//! | `WOKEN`    | unlinked and woken *without* being counted (the lock was free): reacquire normally; the notifier's only later access is a `wake_one` on the address, which may dangle |
//!
//! ```text
//!   push (guard held) --> WAITING --notify: unlink, CAS -> WOKEN (no system call)--> WOKEN
//!                           |  spin failed: CAS -> SLEEPING, then sleep
//!                           v
//!                        SLEEPING --notify, lock held: unlink, add_waiter, requeue--> NOTIFIED
//!                         |   |                                                          | done
//!                         |   | notify, lock free (Condvar): unlink, WOKEN, wake_one     v
//!                         |   +------------------------------------------------> WOKEN  RELEASED
//!                         | timeout (from WAITING or SLEEPING): unlink under guard
//!                         v
//!                   (unlinked, not counted: reacquire normally)
//! ```
//!
//! A node is linked exactly while it is `WAITING` or `SLEEPING`; only a notifier holding
//! `guard` moves it out of those, and only its owner moves it from `WAITING` to `SLEEPING`
//! (a compare-and-swap, which loses to a notifier's). So a notify that finds the owner still
//! awake (spinning: see `wait::spin`, with the queue's `spun` hint) only flips the word, with no
//! system call, and the owner reacquires the lock normally, spinning, which in a ping-pong
//! catches the notifier's unlock a moment later.
//!
//! Counting a notified waiter on the lock and requeueing it only pays when the lock is held
//! (it will be woken by the unlock that lets it in). When it is free (`Condvar::notify_*`
//! after dropping the guard) the waiter is simply woken and acquires like any newcomer,
//! spinning first, as the condvars of std and of the parking-lot crate do.
//!
//! A notified waiter returns from `wait` only once its node is `RELEASED`, or after taking
//! and dropping `guard` (the notifier holds it for its whole loop): the notifier's
//! `requeue_one` reads the node's word, so the node must outlive that call. A timed-out waiter
//! decides under `guard`: still `WAITING` means no notify counted it (it unlinks itself and
//! reports a timeout); anything else means it was notified and reports that instead. So a
//! notification is never spent on a waiter that then reports a timeout, and "notified" is never
//! reported without a notify.
//!
//! # Memory ordering
//!
//! The list and the waiter's `next`/`prev` fields are only touched under `guard`, whose
//! acquire/release orders them. `NOTIFIED` and `RELEASED` are stored with `Release` and read
//! with `Acquire`, so a waiter that sees `RELEASED` sees the notifier's last access to the node
//! before it. The user's data is ordered by the user's lock, which the waiter reacquires.

use crate::Lock;
use crate::wait::{AtomicU32, UnsafeCell, spin, wait, wake_one};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Instant;

const WAITING: u32 = 0;
const NOTIFIED: u32 = 1;
const RELEASED: u32 = 2;
const WOKEN: u32 = 3;
const SLEEPING: u32 = 4;

/// One sleeping waiter; lives on the waiter's stack while linked.
pub(crate) struct Node {
    word: AtomicU32,
    prev: UnsafeCell<*const Node>,
    next: UnsafeCell<*const Node>,
}

impl Node {
    fn new() -> Node {
        Node {
            word: AtomicU32::new(WAITING),
            prev: UnsafeCell::new(ptr::null()),
            next: UnsafeCell::new(ptr::null()),
        }
    }
}

/// How a [`WaitQueue::wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woken {
    /// A notify unlinked this waiter and counted it on the user's lock: reacquire through
    /// `lock_counted`.
    Notified,
    /// A notify unlinked this waiter and woke it without counting it: reacquire normally.
    NotifiedUncounted,
    /// The deadline passed first: the waiter unlinked itself and is not counted.
    TimedOut,
}

/// The FIFO of waiters: head/tail pointers and a key, all guarded by `guard`.
pub(crate) struct WaitQueue {
    guard: Lock,
    /// Spin hint, 0 or 1: the last waiter that had to wait was notified soon (see
    /// `wait::spin`). It fills what would be padding after `guard`.
    spun: AtomicU32,
    head: UnsafeCell<*const Node>,
    tail: UnsafeCell<*const Node>,
    /// The address of the user's lock while waiters exist (checked by `Condvar`).
    key: UnsafeCell<*const Lock>,
}

// SAFETY: the raw pointers are only dereferenced under `guard`, and each points to a node whose
// owner is blocked in `wait` until the node is unlinked (and, if notified, released), so the
// queue can be shared and sent between threads like the atomics it is built from.
unsafe impl Send for WaitQueue {}
// SAFETY: as above: all shared mutation goes through `guard` or atomics.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    crate::wait::loom_const_fn! {
        pub(crate) fn new() -> WaitQueue {
            WaitQueue {
                guard: Lock::new(),
                spun: AtomicU32::new(0),
                head: UnsafeCell::new(ptr::null()),
                tail: UnsafeCell::new(ptr::null()),
                key: UnsafeCell::new(ptr::null()),
            }
        }
    }

    /// Whether no waiter is linked (a racy snapshot, for `Debug` and fast paths).
    pub(crate) fn is_empty(&self) -> bool {
        self.guard.acquire();
        // SAFETY: `head` is only accessed under `guard`, which we hold.
        let empty = unsafe { self.head.with(|h| (*h).is_null()) };
        let _ = self.guard.release();
        empty
    }

    /// Links `node` at the tail. Returns `false` (nothing linked) if waiters exist that use a
    /// different `key` (another lock).
    ///
    /// # Safety
    /// `node` must stay valid and unmoved until it is unlinked (and released if notified), and
    /// must not be linked already. The caller must hold `guard`.
    unsafe fn push(&self, node: &Node, key: *const Lock) -> bool {
        let me = node as *const Node;
        // SAFETY: we hold `guard`, so no other thread touches the list or the links of a linked
        // node, and every linked node (`tail` included) is valid: its owner is blocked in
        // `wait` (precondition of `push`).
        unsafe {
            let tail = self.tail.with(|t| *t);
            if tail.is_null() {
                self.key.with_mut(|k| *k = key);
                self.head.with_mut(|h| *h = me);
            } else {
                if !ptr::eq(self.key.with(|k| *k), key) {
                    return false;
                }
                node.prev.with_mut(|p| *p = tail);
                (*tail).next.with_mut(|n| *n = me);
            }
            self.tail.with_mut(|t| *t = me);
        }
        true
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    /// The caller holds `guard` and `node` is linked in this queue.
    unsafe fn unlink(&self, node: &Node) {
        // SAFETY: we hold `guard` (precondition); `node` and its neighbours are linked, hence
        // valid, and their links are only touched under `guard`.
        unsafe {
            let prev = node.prev.with(|p| *p);
            let next = node.next.with(|n| *n);
            match prev.as_ref() {
                Some(p) => p.next.with_mut(|n| *n = next),
                None => self.head.with_mut(|h| *h = next),
            }
            match next.as_ref() {
                Some(n) => n.prev.with_mut(|p| *p = prev),
                None => self.tail.with_mut(|t| *t = prev),
            }
        }
    }

    /// Blocks the caller as a waiter. `release` is called once the node is linked and must
    /// release the user's lock; it returns `false` if it could not (the lock was not held), in
    /// which case the node is withdrawn and `None` returned if no notify counted it yet.
    /// Returns `None` without calling `release` if `key` conflicts with the current waiters'.
    /// After `Some(Notified)` the caller reacquires through `Lock::lock_counted`; after
    /// `Some(TimedOut)` with a plain acquire.
    pub(crate) fn wait(
        &self,
        key: *const Lock,
        deadline: Option<Instant>,
        release: impl FnOnce() -> bool,
    ) -> Option<Woken> {
        let node = Node::new();
        self.guard.acquire();
        // SAFETY: `node` lives on this frame, which does not return before it is unlinked (by
        // us under `guard` below, or by a notifier) and, if notified, released; we hold `guard`.
        let pushed = unsafe { self.push(&node, key) };
        let _ = self.guard.release();
        if !pushed {
            return None;
        }
        if !release() {
            return match self.withdraw(&node) {
                Woken::TimedOut => None,
                woken => Some(woken),
            };
        }
        let long = self.spun.load(Relaxed) != 0;
        let spun = match spin(long, deadline, || node.word.load(Acquire) != WAITING) {
            Ok(()) => {
                self.hint(long, true);
                return Some(self.notified(&node));
            }
            Err(spun) => spun,
        };
        // Transition: WAITING -> SLEEPING, unless a notifier got there first.
        if node
            .word
            .compare_exchange(WAITING, SLEEPING, Relaxed, Relaxed)
            .is_err()
        {
            return Some(self.notified(&node));
        }
        loop {
            if !wait(&node.word, SLEEPING, deadline) {
                return Some(self.withdraw(&node));
            }
            if node.word.load(Acquire) != SLEEPING {
                self.hint(long, spun.was_short());
                return Some(self.notified(&node));
            }
        }
    }

    /// How a wait ends whose node a notifier has unlinked (the word is past `SLEEPING`).
    #[inline]
    fn notified(&self, node: &Node) -> Woken {
        if node.word.load(Acquire) == WOKEN {
            Woken::NotifiedUncounted
        } else {
            self.await_release(node);
            Woken::Notified
        }
    }

    /// Sets the spin hint to `on` if `was` (read at the start of the wait) says otherwise.
    #[inline]
    fn hint(&self, was: bool, on: bool) {
        if was != on {
            self.spun.store(u32::from(on), Relaxed);
        }
    }

    /// Decides a timed-out (or failed) wait under `guard`: unlink if still linked.
    #[cold]
    fn withdraw(&self, node: &Node) -> Woken {
        self.guard.acquire();
        let result = match node.word.load(Acquire) {
            WAITING | SLEEPING => {
                // SAFETY: we hold `guard`, and WAITING or SLEEPING under `guard` means `node`
                // is linked.
                unsafe { self.unlink(node) };
                Woken::TimedOut
            }
            WOKEN => Woken::NotifiedUncounted,
            // A notifier unlinked and counted us and, since we now hold `guard`, is done.
            _ => Woken::Notified,
        };
        let _ = self.guard.release();
        result
    }

    /// Waits until the notifier is finished with `node` (almost always already the case).
    #[inline]
    fn await_release(&self, node: &Node) {
        if node.word.load(Acquire) != RELEASED {
            // The notifier holds `guard` for its whole loop: once we get it, it is done.
            self.guard.acquire();
            let _ = self.guard.release();
        }
    }

    /// Wakes up to `n` of the oldest waiters, counting each on the user's lock and moving it
    /// onto the lock's futex (where the OS can). The lock is `lock`, or if `None` the one whose
    /// address the current waiters linked with (`Condvar`, which may be notified without the
    /// mutex). Returns how many were notified.
    pub(crate) fn notify(&self, n: usize, lock: Option<&Lock>) -> usize {
        if n == 0 {
            return 0;
        }
        self.guard.acquire();
        // SAFETY: `key` is only accessed under `guard`, which we hold.
        let key = unsafe { self.key.with(|k| *k) };
        let mut done = 0;
        while done < n {
            // SAFETY: we hold `guard`; a linked node is valid until we release it below.
            let head = unsafe { self.head.with(|h| *h) };
            // SAFETY: a non-null head is a linked, hence valid, node.
            let Some(node) = (unsafe { head.as_ref() }) else {
                break;
            };
            // SAFETY: we hold `guard` and `node` is linked.
            unsafe { self.unlink(node) };
            done += 1;
            // Transition: WAITING -> WOKEN: the owner is awake and will see it; no wake-up.
            // (`node` may be freed from here on.)
            if node
                .word
                .compare_exchange(WAITING, WOKEN, Release, Relaxed)
                .is_ok()
            {
                continue;
            }
            // SLEEPING: only we (under `guard`) move it on from here.
            // SAFETY: with no `lock` given, every linked node's owner is blocked in `wait`
            // borrowing the lock at `key` (the address it linked with), and cannot return before
            // we release its node; `node` is still unreleased here, so the lock is live.
            let lock = match lock {
                Some(l) => l,
                // SAFETY: see above.
                None => unsafe { &*key },
            };
            if !lock.locked() {
                // Nobody would wake a requeued sleeper soon: wake it to acquire normally.
                let word: *const AtomicU32 = &node.word;
                node.word.store(WOKEN, Release);
                // (`node` may be freed from here on; `wake_one` accepts a dangling address.)
                wake_one(word);
                continue;
            }
            lock.add_waiter();
            node.word.store(NOTIFIED, Release);
            // SAFETY: `node.word` is live: its owner cannot return before we store RELEASED
            // below or drop `guard`, and we do neither before this call returns.
            unsafe { lock.requeue_from(&node.word, NOTIFIED) };
            node.word.store(RELEASED, Release);
        }
        let _ = self.guard.release();
        done
    }
}
