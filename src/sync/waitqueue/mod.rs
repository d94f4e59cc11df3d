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
//! | `CHAINED`  | still linked, but notified: asleep until a token reaches it (see below) |
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
//!
//!   WAITING or SLEEPING --notify while the window is full: swap -> CHAINED (stays linked)
//!   CHAINED --pass_token: unlink, give it the token, WOKEN, wake_one--> WOKEN
//!   CHAINED --timeout: unlink under guard--> (notified, not counted: reacquire normally)
//! ```
//!
//! A node is linked exactly while it is `WAITING`, `SLEEPING` or `CHAINED`; only a thread
//! holding `guard` moves it out of those, and only its owner moves it from `WAITING` to
//! `SLEEPING` (a compare-and-swap, which loses to a notifier's). So a notify that finds the owner still
//! awake (spinning: see `rt::spin`, with the queue's `SPUN` hint) only flips the word, with no
//! system call, and the owner reacquires the lock normally, spinning, which in a ping-pong
//! catches the notifier's unlock a moment later.
//!
//! Counting a notified waiter on the lock and requeueing it only pays when the lock is held
//! (it will be woken by the unlock that lets it in). When it is free (`Condvar::notify_*`
//! after dropping the guard) the waiter is simply woken and acquires like any newcomer,
//! spinning first, as the condvars of std and of the parking-lot crate do.
//!
//! # The tokens: `notify_all` without a herd
//!
//! A notify that releases several waiters releases at most a *window* of them at once (as
//! above: `rt::notify_window`, 4 per CPU and at most 16), each but the last of the call with
//! a *token* (counted in `flags` in units of `TOKEN`; the node's `token` field). Every other
//! one, and every waiter notified while the window is full, becomes `CHAINED`: notified (no
//! notify can pick it again, and a timeout reports the notification), but left asleep in the
//! queue, where `CHAINED` nodes are always the oldest. A token holder passes its token on when
//! it gets back into the lock: as soon as it is awake if the lock is free then (so the next
//! waiter's wake-up overlaps its time with the lock), otherwise once it holds the lock.
//! Passing unlinks the oldest `CHAINED` node, gives it the token and wakes it, or, with none
//! left, returns the token (one fewer out). So the released waiters on their way back into the
//! lock are never more than the window: enough that every CPU has one awake and ready to take
//! the lock when it frees (no CPU idles between two of them, and waking an idle CPU is the
//! dearest step of a hand-over), never so many that hundreds wake at once to fight for one
//! lock. Each waiter is woken once, by the notify or by a waiter before it. A token cannot be
//! lost: it is given only to a notified waiter, which always returns from `wait` through the
//! pass. Chained nodes exist only while the window is full (a token comes back only when no
//! node is chained), so a later notify never overtakes them: release order stays FIFO.
//!
//! A notified waiter returns from `wait` only once its node is `RELEASED`, or after taking
//! and dropping `guard` (the notifier holds it for its whole loop): the notifier's
//! `requeue_one` reads the node's word, so the node must outlive that call. A timed-out waiter
//! decides under `guard`: still `WAITING` means no notify counted it (it unlinks itself and
//! reports a timeout); anything else means it was notified and reports that instead. So a
//! notification is never spent on a waiter that then reports a timeout, and "notified" is never
//! reported without a notify.
//!
//! # After `fork()`
//!
//! In a fork child the nodes in the list lie on the stacks of threads that no longer exist
//! (the child's new threads reuse that memory), the tokens out are held by them, and `guard`
//! may be held by one of them. So `flags` carries the fork generation (`wait::fork_generation`,
//! low bits) that the rest belongs to, and every entry point (`wait`, `notify`, `is_empty`)
//! compares it first, before it touches `guard` or the list. The first caller that finds an
//! older one marks the renewal (bit 8) with a compare-and-swap, makes `guard` a fresh unlocked lock,
//! empties the list without reading a node, takes the tokens back, then publishes the new
//! generation and wakes whoever waited on `flags` meanwhile. Nothing a vanished thread's stack
//! held is ever dereferenced: the queue behaves as if those threads had never waited. Threads
//! of the child only wait after the check, so they are never discarded. (Generations are
//! compared modulo 2^23.)
//!
//! # Memory ordering
//!
//! The list and the waiter's `next`/`prev` fields are only touched under `guard`, whose
//! acquire/release orders them. `NOTIFIED` and `RELEASED` are stored with `Release` and read
//! with `Acquire`, so a waiter that sees `RELEASED` sees the notifier's last access to the node
//! before it. The user's data is ordered by the user's lock, which the waiter reacquires.

use crate::Lock;
use crate::rt::{AtomicU32, UnsafeCell, set_hint, spin, wait};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::Instant;

mod fork;
mod notify;

const WAITING: u32 = 0;
const NOTIFIED: u32 = 1;
const RELEASED: u32 = 2;
const WOKEN: u32 = 3;
const SLEEPING: u32 = 4;
const CHAINED: u32 = 5;

/// `flags`: the spin hint (the last waiter that had to wait was notified soon).
const SPUN: u32 = 1;
/// `flags` bits 1..8, changed under `guard`: how many notified waiters hold a token (see the
/// module docs), in units of `TOKEN` (at most the notify window, 16).
const TOKEN: u32 = 2;
/// The token count's bits in `flags`.
const TOKENS: u32 = 0xfe;
/// `flags` bit 8: a thread is discarding what an older fork generation left (see "After
/// `fork()`" and `wait::renew_after_fork`); everybody else waits on `flags` until it is done.
/// `flags` bits 9..32: the fork generation (its low bits) the guard, the list and the tokens
/// belong to.
const GEN_SHIFT: u32 = 9;

/// One sleeping waiter; lives on the waiter's stack while linked.
pub(crate) struct Node {
    word: AtomicU32,
    /// Set (under `guard`, before the word leaves `WAITING`/`SLEEPING`/`CHAINED`) when this
    /// waiter is given the token.
    token: UnsafeCell<bool>,
    prev: UnsafeCell<*const Node>,
    next: UnsafeCell<*const Node>,
}

impl Node {
    fn new() -> Node {
        Node {
            word: AtomicU32::new(WAITING),
            token: UnsafeCell::new(false),
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
    /// `SPUN` (see `rt::spin`) and the tokens out. It fills what would be padding after
    /// `guard`.
    flags: AtomicU32,
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
    crate::rt::loom_const_fn! {
        pub(crate) fn new() -> WaitQueue {
            WaitQueue {
                guard: Lock::new(),
                flags: AtomicU32::new(0),
                head: UnsafeCell::new(ptr::null()),
                tail: UnsafeCell::new(ptr::null()),
                key: UnsafeCell::new(ptr::null()),
            }
        }
    }

    /// Whether no waiter is linked (a racy snapshot, for `Debug` and fast paths).
    pub(crate) fn is_empty(&self) -> bool {
        self.check_generation();
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
    /// Otherwise `reacquire(counted)` takes the user's lock again before `wait` returns: through
    /// `Lock::lock_counted` if `counted` (after `Notified`), with a plain acquire if not; and a
    /// waiter that was given the token then passes it on.
    pub(crate) fn wait(
        &self,
        lock: &Lock,
        deadline: Option<Instant>,
        release: impl FnOnce() -> bool,
        reacquire: impl FnOnce(bool),
    ) -> Option<Woken> {
        let node = Node::new();
        self.check_generation();
        self.guard.acquire();
        // SAFETY: `node` lives on this frame, which does not return before it is unlinked (by
        // us under `guard` below, or by a notifier) and, if notified, released; we hold `guard`.
        let pushed = unsafe { self.push(&node, lock) };
        let _ = self.guard.release();
        if !pushed {
            return None;
        }
        let woken = if release() {
            self.sleep(&node, deadline)
        } else {
            match self.withdraw(&node) {
                Woken::TimedOut => return None,
                woken => woken,
            }
        };
        // SAFETY: `token` is written only under `guard` before the word leaves the linked
        // states, which we have seen (`Acquire`, or under `guard`) before getting here.
        let mut token = woken != Woken::TimedOut && node.token.with(|t| unsafe { *t });
        if token && !lock.locked() {
            // The lock is free: wake the next one now, so that its wake-up overlaps our time
            // with the lock and it is running when we let go (a pipeline two deep, never a
            // herd: each waiter wakes only the next, and only once it is itself awake).
            self.pass_token();
            token = false;
        }
        reacquire(woken == Woken::Notified);
        if token {
            // The lock was held: pass the token once we hold it, so the next one does not wake
            // just to wait for a long holder.
            self.pass_token();
        }
        Some(woken)
    }

    /// Spins, then sleeps, until a notifier (or a token) releases `node`, or `deadline`.
    fn sleep(&self, node: &Node, deadline: Option<Instant>) -> Woken {
        let long = self.flags.load(Relaxed) & SPUN != 0;
        let spun = match spin(long, deadline, || node.word.load(Acquire) != WAITING) {
            Ok(()) if node.word.load(Acquire) != CHAINED => {
                set_hint(&self.flags, SPUN, long, true);
                return self.notified(node);
            }
            Ok(()) => None,
            Err(spun) => Some(spun),
        };
        // Transition: WAITING -> SLEEPING, unless a notifier got there first.
        let mut expected = SLEEPING;
        if let Err(now) = node
            .word
            .compare_exchange(WAITING, SLEEPING, Relaxed, Acquire)
        {
            if now != CHAINED {
                return self.notified(node);
            }
            expected = CHAINED;
        }
        loop {
            if !wait(&node.word, expected, deadline) {
                return self.withdraw(node);
            }
            match node.word.load(Acquire) {
                SLEEPING => {}
                // Notified, but behind the tokens: sleep on until one gets here.
                CHAINED => expected = CHAINED,
                _ => {
                    if let Some(spun) = spun {
                        set_hint(&self.flags, SPUN, long, spun.was_short());
                    }
                    return self.notified(node);
                }
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
            CHAINED => {
                // Notified, still behind the tokens: leave the chain (they skip us).
                // SAFETY: as above, CHAINED nodes are linked.
                unsafe { self.unlink(node) };
                Woken::NotifiedUncounted
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
}
