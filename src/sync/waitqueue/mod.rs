//! [`WaitQueue`]: the FIFO of sleeping waiters behind `Condition` and `Condvar` (whose
//! `notify_one` may release an awake newer waiter first: "Awake first" in `notify.rs`).
//!
//! Each waiter links a [`Node`] that lives on its own stack (no allocation, no global table,
//! nothing to fix after `fork`) into an intrusive doubly linked list, and sleeps on the node's
//! own futex word. The list is guarded by the queue's own small lock (the *guard*, in
//! `flags`), never by the user's lock alone: a plain `Lock` counts as "held" by anybody once
//! locked, and `Condvar` may be notified without the mutex, so two notifiers can run at once.
//!
//! # The layout: 16 bytes
//!
//! A `WaitQueue<L>` is one pointer and one 32-bit word, plus `L`: the `Condition`'s own lock
//! (`()` for a `Condvar`, whose mutex lives elsewhere). It is `repr(C)`, in this order, so a
//! 4-byte `L` fills the rest of the pointer's 8-byte slot: `Condition<Lock>` and `Condvar` are
//! 16 bytes on 64-bit targets and 12 and 8 on 32-bit ones (a 16-byte queue nested beside a
//! 4-byte lock would take 24). `Condition<RLock>` is 32 bytes on 64-bit targets.
//!
//! | field   | holds                                                                        |
//! |---------|------------------------------------------------------------------------------|
//! | `head`  | the oldest linked node, or null; under the guard                              |
//! | `flags` | the guard and its sleepers, the spin hint, the tokens, the fork generation    |
//! | `lock`  | `L`, which the queue never touches (the waiters pass it to `wait` as a `Lock`) |
//!
//! The list is circular one way only: `head.prev` is the tail (the head's own address when it
//! is alone), so a push needs no tail pointer; every other `prev` is the older neighbour, and
//! `next` runs from the head to the tail, which has a null `next`. Each node also carries the
//! address of the user's lock its owner released (its *key*): a push compares it with the
//! head's, so every linked node has the same key (`Condvar` panics on a second mutex), and a
//! `Condvar` notify, which has no lock of its own, uses the key of the node it releases.
//!
//! | `flags` bits | name        | meaning                                                   |
//! |--------------|-------------|-----------------------------------------------------------|
//! | 0            | `SPUN`      | the spin hint: the last waiter that had to wait was notified soon (`rt::spin`); changed by a relaxed RMW, without the guard |
//! | 1            | `GUARD`     | the guard is held: the list, the links and the tokens are the holder's |
//! | 2..8         | tokens      | how many notified waiters hold a token, in units of `TOKEN` (at most the notify window, 16); changed under the guard |
//! | 8..22        | sleepers    | how many threads sleep on `flags` for the guard, in units of `SLEEPER`: its release wakes one while any is counted |
//! | 22           | renewing    | a thread is discarding what an older fork generation left (see "After `fork()`") |
//! | 23..32       | generation  | the fork generation (its low 9 bits) the rest belongs to; the guard's algorithm is in `guard.rs` |
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
//! holding the guard moves it out of those, and only its owner moves it from `WAITING` to
//! `SLEEPING` (a compare-and-swap, which loses to a notifier's). So a notify that finds the owner still
//! awake (spinning: see `rt::spin`, with the queue's `SPUN` hint) only flips the word, with no
//! system call, and the owner reacquires the lock normally, spinning, which in a ping-pong
//! catches the notifier's unlock a moment later.
//!
//! Counting a notified waiter on the lock and requeueing it only pays when the lock is held
//! (it will be woken by the unlock that lets it in). When it is free (`Condvar::notify_*`
//! after dropping the guard) the waiter is simply woken and acquires like any newcomer,
//! spinning first, as other futex-based condition variables do.
//!
//! # The tokens: `notify_all` without a herd
//!
//! A notify that releases several waiters releases at most a *window* of them at once (as
//! above: `rt::notify_window`, 3 per CPU and at most 16), each but the last of the call with
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
//! and dropping the guard (the notifier holds it for its whole loop): the notifier's
//! `requeue_one` reads the node's word, so the node must outlive that call. A timed-out waiter
//! decides under the guard: still `WAITING` means no notify counted it (it unlinks itself and
//! reports a timeout); anything else means it was notified and reports that instead. So a
//! notification is never spent on a waiter that then reports a timeout, and "notified" is never
//! reported without a notify.
//!
//! # After `fork()`
//!
//! In a fork child the nodes in the list lie on the stacks of threads that no longer exist
//! (the child's new threads reuse that memory), the tokens out are held by them, and the
//! guard may be held by one of them. So `flags` carries the fork generation
//! (`wait::fork_generation`, low bits) that the rest belongs to, and every entry point (`wait`,
//! `notify`, `is_empty`) compares it first, before it touches the guard or the list. The first
//! caller that finds an older one marks the renewal (bit 22) with a compare-and-swap that also
//! clears `GUARD`, the sleepers and the tokens (only `SPUN` stays: a fresh guard, no token out),
//! empties the list without reading a node, then publishes the new generation and wakes
//! whoever waited on `flags` meanwhile (nobody sleeps there for the guard: a thread of the child
//! takes it only after the check, and no thread of the parent survives). Nothing a vanished
//! thread's stack held is ever dereferenced: the queue behaves as if those threads had never
//! waited. Threads of the child only wait after the check, so they are never discarded.
//! (Generations are compared modulo 2^9 = 512: a queue left untouched, with waiters, through
//! 512 nested forks is the one case not caught; `Lock` compares modulo 32.)
//!
//! # Memory ordering
//!
//! `head` and the nodes' `next`/`prev`/`token` fields are only touched under the guard, whose
//! `Acquire` take and `Release` release order them (the other bits of `flags` change only by
//! RMWs, which keep that chain: a release sequence). A node's `key` is written before the node
//! is linked and never after. `NOTIFIED` and `RELEASED` are stored with `Release` and read
//! with `Acquire`, so a waiter that sees `RELEASED` sees the notifier's last access to the node
//! before it. The user's data is ordered by the user's lock, which the waiter reacquires.

use crate::Lock;
use crate::rt::{AtomicU32, UnsafeCell, forget_partner, set_hint, spin, wait};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::Instant;

mod fork;
mod guard;
mod list;
mod notify;
#[cfg(all(test, not(threadkit_loom)))]
mod tests;

pub(crate) use notify::Order;

use list::Node;

const WAITING: u32 = 0;
const NOTIFIED: u32 = 1;
const RELEASED: u32 = 2;
const WOKEN: u32 = 3;
const SLEEPING: u32 = 4;
const CHAINED: u32 = 5;

/// `flags` bit 0: the spin hint (the last waiter that had to wait was notified soon).
const SPUN: u32 = 1;
/// `flags` bit 1: the guard is held.
const GUARD: u32 = 2;
/// `flags` bits 2..8, changed under the guard: how many notified waiters hold a token (see the
/// module docs), in units of `TOKEN` (at most the notify window, 16).
const TOKEN: u32 = 4;
/// The token count's bits in `flags`.
const TOKENS: u32 = 0xfc;
/// `flags` bits 8..22: how many threads sleep (or are about to) on `flags` for the guard, in
/// units of `SLEEPER`; at most `MAX_SLEEPERS` (see `guard.rs`).
const SLEEPER: u32 = 1 << 8;
/// The sleeper count's bits in `flags`.
const SLEEPERS: u32 = 0x3fff << 8;
/// `flags` bit 22: a thread is discarding what an older fork generation left (see "After
/// `fork()`" and `wait::renew_after_fork`); everybody else waits on `flags` until it is done.
/// `flags` bits 23..32: the fork generation (its low bits) the guard, the list, the tokens and
/// the sleepers belong to.
const GEN_SHIFT: u32 = 23;

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

/// The FIFO of waiters and `L`, the `Condition`'s lock (`()` for a `Condvar`), laid out so
/// that a 4-byte `L` packs beside `flags` (see "The layout" in the module docs).
#[repr(C)]
pub(crate) struct WaitQueue<L = ()> {
    /// The oldest linked node, or null; under the guard.
    head: UnsafeCell<*const Node>,
    /// The guard, the spin hint, the tokens out and the fork generation (see the module docs).
    flags: AtomicU32,
    /// The `Condition`'s lock; the queue never touches it.
    pub(crate) lock: L,
}

// SAFETY: the raw pointers are only dereferenced under the guard, and each points to a node
// whose owner is blocked in `wait` until the node is unlinked (and, if notified, released), so
// the queue can be sent between threads like the atomics it is built from, with its `L`.
unsafe impl<L: Send> Send for WaitQueue<L> {}
// SAFETY: as above: all shared mutation of the list goes through the guard or atomics; `L` is
// shared as `&L`.
unsafe impl<L: Sync> Sync for WaitQueue<L> {}

impl<L> WaitQueue<L> {
    crate::rt::loom_const_fn! {
        pub(crate) fn new(lock: L) -> WaitQueue<L> {
            WaitQueue {
                head: UnsafeCell::new(ptr::null()),
                flags: AtomicU32::new(0),
                lock,
            }
        }
    }

    /// The list's view, shared by every `L` (the algorithms are compiled once).
    #[inline]
    fn queue(&self) -> Queue<'_> {
        Queue {
            head: &self.head,
            flags: &self.flags,
        }
    }

    /// Whether no waiter is linked (a racy snapshot, for `Debug`).
    pub(crate) fn is_empty(&self) -> bool {
        self.queue().is_empty()
    }

    /// See [`Queue::wait`].
    #[inline]
    pub(crate) fn wait(
        &self,
        lock: &Lock,
        deadline: Option<Instant>,
        release: impl FnOnce() -> bool,
        reacquire: impl FnOnce(bool),
        order: Order,
    ) -> Option<Woken> {
        self.queue().wait(lock, deadline, release, reacquire, order)
    }

    /// See [`Queue::notify`].
    #[inline]
    pub(crate) fn notify(&self, n: usize, lock: Option<&Lock>) -> usize {
        self.queue().notify(n, lock, Order::Fifo)
    }

    /// Like [`notify`](Self::notify)`(1, None)`, in [`Order::AwakeFirst`].
    #[inline]
    #[cfg_attr(threadkit_loom, allow(dead_code))] // `Condvar` is not built under the model
    pub(crate) fn notify_one_awake_first(&self) -> bool {
        self.queue().notify(1, None, Order::AwakeFirst) == 1
    }

    /// How many tokens are out (for the models).
    #[cfg(all(test, threadkit_loom))]
    pub(crate) fn tokens_out(&self) -> u32 {
        (self.flags.load(Relaxed) & TOKENS) / TOKEN
    }
}

/// A [`WaitQueue`]'s two fields without its `L`: what the algorithms work on.
#[derive(Clone, Copy)]
struct Queue<'a> {
    head: &'a UnsafeCell<*const Node>,
    flags: &'a AtomicU32,
}

impl Queue<'_> {
    /// Blocks the caller as a waiter. `release` is called once the node is linked and must
    /// release the user's lock; it returns `false` if it could not (the lock was not held), in
    /// which case the node is withdrawn and `None` returned if no notify counted it yet.
    /// Returns `None` without calling `release` if `key` conflicts with the current waiters'.
    /// Otherwise `reacquire(counted)` takes the user's lock again before `wait` returns: through
    /// `Lock::lock_counted` if `counted` (after `Notified`), with a plain acquire if not; and a
    /// waiter that was given the token then passes it on.
    fn wait(
        self,
        lock: &Lock,
        deadline: Option<Instant>,
        release: impl FnOnce() -> bool,
        reacquire: impl FnOnce(bool),
        order: Order,
    ) -> Option<Woken> {
        let node = Node::new(lock);
        self.check_generation();
        self.lock_guard();
        // SAFETY: `node` lives on this frame, which does not return before it is unlinked (by
        // us under the guard below, or by a notifier) and, if notified, released; we hold the
        // guard.
        let pushed = unsafe { self.push(&node) };
        self.unlock_guard();
        let first = pushed?;
        if !first && order == Order::Fifo {
            // Behind other waiters, this one is not the next a FIFO notify releases: no spin
            // for a partner this thread just woke (see `rt::woke_partner`).
            forget_partner();
        }
        let woken = if release() {
            // Behind others in `AwakeFirst`, a long sleep says nothing against spinning.
            self.sleep(&node, deadline, first || order == Order::Fifo)
        } else {
            match self.withdraw(&node) {
                Woken::TimedOut => return None,
                woken => woken,
            }
        };
        // SAFETY: `token` is written only under the guard before the word leaves the linked
        // states, which we have seen (`Acquire`, or under the guard) before getting here.
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

    /// Spins, then sleeps, until a notifier (or a token) releases `node`, or `deadline`; a
    /// long sleep turns the spin hint off only if `may_clear`.
    fn sleep(self, node: &Node, deadline: Option<Instant>, may_clear: bool) -> Woken {
        let long = self.flags.load(Relaxed) & SPUN != 0;
        let spun = match spin(long, deadline, || node.word.load(Acquire) != WAITING) {
            Ok(()) if node.word.load(Acquire) != CHAINED => {
                set_hint(self.flags, SPUN, long, true);
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
                        let short = spun.after_sleep();
                        if short || may_clear {
                            set_hint(self.flags, SPUN, long, short);
                        }
                    }
                    return self.notified(node);
                }
            }
        }
    }

    /// How a wait ends whose node a notifier has unlinked (the word is past `SLEEPING`).
    #[inline]
    fn notified(self, node: &Node) -> Woken {
        if node.word.load(Acquire) == WOKEN {
            Woken::NotifiedUncounted
        } else {
            self.await_release(node);
            Woken::Notified
        }
    }

    /// Waits until the notifier is finished with `node` (almost always already the case).
    #[inline]
    fn await_release(self, node: &Node) {
        if node.word.load(Acquire) != RELEASED {
            // The notifier holds the guard for its whole loop: once we get it, it is done.
            self.lock_guard();
            self.unlock_guard();
        }
    }
}
