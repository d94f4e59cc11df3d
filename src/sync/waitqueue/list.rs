//! The list of [`WaitQueue`](super::WaitQueue): its [`Node`], and linking and unlinking one under
//! the guard (and a timed-out waiter leaving it). The list is circular one way only (see "The
//! layout" in `mod.rs`): `head` is the oldest node, `head.prev` the tail, every other `prev` the
//! older neighbour, and `next` runs from the head to the tail, whose `next` is null.

use super::{CHAINED, Queue, SLEEPING, WAITING, WOKEN, Woken};
use crate::Lock;
use crate::rt::{AtomicU32, UnsafeCell};
use std::ptr;
use std::sync::atomic::Ordering::Acquire;

/// One sleeping waiter; lives on the waiter's stack while linked.
pub(super) struct Node {
    pub(super) word: AtomicU32,
    /// Set (under the guard, before the word leaves `WAITING`/`SLEEPING`/`CHAINED`) when this
    /// waiter is given the token.
    pub(super) token: UnsafeCell<bool>,
    /// The key: the user's lock its owner released (alive while the node is linked, or
    /// notified and not released). Written before the node is linked, never after.
    pub(super) key: *const Lock,
    /// The older neighbour; for the head, the tail (itself when alone). Under the guard.
    prev: UnsafeCell<*const Node>,
    /// The younger neighbour; null for the tail. Under the guard.
    pub(super) next: UnsafeCell<*const Node>,
    /// How many times in a row a notify passed over this node, the oldest, for an awake
    /// younger waiter (see `Queue::awake_first`). Under the guard.
    pub(super) passed: UnsafeCell<u32>,
}

impl Node {
    pub(super) fn new(key: &Lock) -> Node {
        Node {
            word: AtomicU32::new(WAITING),
            token: UnsafeCell::new(false),
            key,
            prev: UnsafeCell::new(ptr::null()),
            next: UnsafeCell::new(ptr::null()),
            passed: UnsafeCell::new(0),
        }
    }
}

impl Queue<'_> {
    /// Whether no waiter is linked (a racy snapshot, for `Debug`).
    pub(super) fn is_empty(self) -> bool {
        self.check_generation();
        self.lock_guard();
        // SAFETY: `head` is only accessed under the guard, which we hold.
        let empty = unsafe { self.head.with(|h| (*h).is_null()) };
        self.unlock_guard();
        empty
    }

    /// The oldest linked node, or null.
    ///
    /// # Safety
    /// The caller holds the guard.
    #[inline]
    pub(super) unsafe fn head(self) -> *const Node {
        // SAFETY: `head` is only accessed under the guard, which the caller holds.
        unsafe { self.head.with(|h| *h) }
    }

    /// The newest linked node, or null.
    ///
    /// # Safety
    /// The caller holds the guard.
    #[inline]
    pub(super) unsafe fn tail(self) -> *const Node {
        // SAFETY: the caller holds the guard, so a non-null head is linked, hence valid.
        unsafe {
            self.head()
                .as_ref()
                .map_or(ptr::null(), |h| h.prev.with(|t| *t))
        }
    }

    /// Links `node` at the tail and returns whether it is the only waiter (the head); `None`
    /// (nothing linked) if waiters exist that use a different key (another lock).
    ///
    /// # Safety
    /// `node` must stay valid and unmoved until it is unlinked (and released if notified), and
    /// must not be linked already. The caller must hold the guard.
    pub(super) unsafe fn push(self, node: &Node) -> Option<bool> {
        let me = node as *const Node;
        // SAFETY: we hold the guard, so no other thread touches the list or the links of a
        // linked node, and every linked node (the head, and the tail it points to) is valid:
        // its owner is blocked in `wait` (precondition of `push`).
        unsafe {
            match self.head().as_ref() {
                None => {
                    // Alone: the head, and its own tail.
                    node.prev.with_mut(|p| *p = me);
                    self.head.with_mut(|h| *h = me);
                    Some(true)
                }
                Some(head) => {
                    if !ptr::eq(head.key, node.key) {
                        return None;
                    }
                    let tail = head.prev.with(|t| *t);
                    node.prev.with_mut(|p| *p = tail);
                    (*tail).next.with_mut(|n| *n = me);
                    head.prev.with_mut(|t| *t = me);
                    Some(false)
                }
            }
        }
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    /// The caller holds the guard and `node` is linked in this queue.
    pub(super) unsafe fn unlink(self, node: &Node) {
        // SAFETY: we hold the guard (precondition); `node`, its neighbours and the head are
        // linked, hence valid, and their links are only touched under the guard.
        unsafe {
            let head = self.head();
            let prev = node.prev.with(|p| *p);
            let next = node.next.with(|n| *n);
            if ptr::eq(head, node) {
                // The oldest: its successor (if any) becomes the head and inherits the tail.
                self.head.with_mut(|h| *h = next);
                if let Some(n) = next.as_ref() {
                    n.prev.with_mut(|p| *p = prev);
                }
            } else {
                (*prev).next.with_mut(|n| *n = next);
                match next.as_ref() {
                    Some(n) => n.prev.with_mut(|p| *p = prev),
                    // The tail: its older neighbour is the tail now.
                    None => (*head).prev.with_mut(|t| *t = prev),
                }
            }
        }
    }

    /// Decides a timed-out (or failed) wait under the guard: unlink if still linked.
    #[cold]
    pub(super) fn withdraw(self, node: &Node) -> Woken {
        self.lock_guard();
        let result = match node.word.load(Acquire) {
            WAITING | SLEEPING => {
                // SAFETY: we hold the guard, and WAITING or SLEEPING under the guard means
                // `node` is linked.
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
            // A notifier unlinked and counted us and, since we now hold the guard, is done.
            _ => Woken::Notified,
        };
        self.unlock_guard();
        result
    }
}
