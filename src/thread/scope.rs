//! [`scope`], [`Scope`] and [`ScopedJoinHandle`]: std's `thread::scope` shape on threadkit
//! threads. The scope lists every thread started in it and joins them all before it returns,
//! so their closures may borrow from the caller's stack. The list is a lock-free stack (any
//! thread of the scope pushes, only the scope's end takes), so a `fork()` can never catch it
//! locked by a thread that then vanishes.

use super::Thread;
use super::spawn::{ResultCell, join_packet};
use crate::rt::os::{AtomicPtr, AtomicUsize};
use core::fmt;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

/// A scope to spawn threads that borrow from outside it; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    /// Every thread started in the scope and not yet joined by the scope's end.
    threads: ThreadStack,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.threads.len.load(Relaxed);
        f.debug_struct("Scope").field("threads", &n).finish()
    }
}

/// Runs `f` with a [`Scope`] in which threads may borrow from the caller's stack; every thread
/// spawned in it is joined before `scope` returns. Std's `thread::scope`: if one of them
/// panicked and its handle was not joined, `scope` panics once all are joined.
///
/// ```
/// let mut a = vec![1, 2, 3];
/// let mut x = 0;
/// threadkit::scope(|s| {
///     s.spawn(|| println!("a has {} items", a.len()));
///     s.spawn(|| x += a[0] + a[2]);
/// });
/// a.push(4);
/// assert_eq!(x, a.len());
/// ```
pub fn scope<'env, T>(f: impl for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T) -> T {
    let scope = Scope {
        threads: ThreadStack {
            head: AtomicPtr::new(ptr::null_mut()),
            len: AtomicUsize::new(0),
        },
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    let unjoined_panic = scope.join_all();
    match result {
        Err(e) => resume_unwind(e),
        Ok(_) if unjoined_panic => panic!("a scoped thread panicked"),
        Ok(r) => r,
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Starts a daemon thread in this scope (a [`Builder`](crate::Builder) sets other options).
    ///
    /// # Panics
    /// If the OS cannot start a thread (use [`Builder::spawn_scoped`](crate::Builder::spawn_scoped)
    /// to get the error as a value).
    ///
    /// ```
    /// let n = 5;
    /// let r = threadkit::scope(|s| s.spawn(|| n * 2).join().unwrap());
    /// assert_eq!(r, 10);
    /// ```
    pub fn spawn<T: Send + 'scope>(
        &'scope self,
        f: impl FnOnce() -> T + Send + 'scope,
    ) -> ScopedJoinHandle<'scope, T> {
        match crate::Builder::new().spawn_scoped(self, f) {
            Ok(h) => h,
            Err(e) => panic!("failed to spawn thread: {e}"),
        }
    }

    pub(super) fn add(&self, thread: Thread) {
        self.threads.push(thread);
    }

    /// Joins every thread started in the scope, also those they started meanwhile; `true` if
    /// one of them panicked and its handle did not take the payload.
    fn join_all(&self) -> bool {
        let mut joined = Vec::new();
        while let Some(t) = self.threads.pop() {
            // Cannot fail: started, not the calling thread (a scoped thread cannot outlive
            // the scope it would have to join itself in), not a dummy.
            let _ = t.join();
            joined.push(t);
        }
        // Only now, with every thread of the scope joined, is no handle in use elsewhere.
        joined.iter().any(|t| {
            // SAFETY: joined (FINISHED observed), and every thread that could hold a handle
            // has ended: a handle cannot leave the scope, so nobody else reads the payload.
            t.panicked() && unsafe { t.take_payload() }.is_some()
        })
    }
}

/// An owned permission to join a thread started in a [`Scope`] and get its result.
///
/// ```
/// threadkit::scope(|s| {
///     let h = s.spawn(|| 7);
///     assert!(h.thread().name().starts_with("Thread-"));
///     assert_eq!(h.join().unwrap(), 7);
/// });
/// ```
pub struct ScopedJoinHandle<'scope, T> {
    thread: Thread,
    result: Arc<ResultCell<T>>,
    _scope: PhantomData<&'scope ()>,
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", &self.thread)
            .finish()
    }
}

impl<'scope, T> ScopedJoinHandle<'scope, T> {
    pub(super) fn new(thread: Thread, result: Arc<ResultCell<T>>) -> Self {
        ScopedJoinHandle {
            thread,
            result,
            _scope: PhantomData,
        }
    }

    /// The thread.
    ///
    /// ```
    /// threadkit::scope(|s| {
    ///     let h = s.spawn(|| ());
    ///     assert!(h.thread().daemon());
    /// });
    /// ```
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Waits for the thread and returns its value, or the payload of its panic.
    ///
    /// ```
    /// threadkit::scope(|s| {
    ///     assert!(s.spawn(|| -> u8 { panic!("caught") }).join().is_err());
    /// });
    /// ```
    pub fn join(self) -> std::thread::Result<T> {
        join_packet(&self.thread, &self.result)
    }

    /// Whether the thread has finished.
    ///
    /// ```
    /// threadkit::scope(|s| {
    ///     let h = s.spawn(|| ());
    ///     let t = h.thread().clone();
    ///     h.join().unwrap();
    ///     assert!(!t.is_alive());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        !self.thread.is_alive()
    }
}

/// A Treiber stack of thread handles: pushed by any thread of the scope, popped only by the
/// scope's end (one thread), so a node is never freed while another thread may read it (no
/// ABA: the only popper is the only one who frees).
struct ThreadStack {
    head: AtomicPtr<StackNode>,
    /// How many are listed (for `Debug` only).
    len: AtomicUsize,
}

struct StackNode {
    thread: Thread,
    next: *mut StackNode,
}

impl ThreadStack {
    fn push(&self, thread: Thread) {
        let node = Box::into_raw(Box::new(StackNode {
            thread,
            next: ptr::null_mut(),
        }));
        self.len.fetch_add(1, Relaxed);
        let mut head = self.head.load(Relaxed);
        loop {
            // SAFETY: `node` is ours until the compare-and-swap below publishes it.
            unsafe { (*node).next = head };
            // Transition: head -> node (publishes the node and its thread: Release).
            match self
                .head
                .compare_exchange_weak(head, node, Release, Relaxed)
            {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Takes the newest handle. Only the scope's end calls it (never two threads at once).
    fn pop(&self) -> Option<Thread> {
        let mut head = self.head.load(Acquire);
        loop {
            if head.is_null() {
                return None;
            }
            // SAFETY: a published node stays valid until its popper frees it, and we are the
            // only popper; its `next` was written before the push published it (Acquire).
            let next = unsafe { (*head).next };
            // Transition: head -> next (this popper owns the node from here).
            match self
                .head
                .compare_exchange_weak(head, next, Acquire, Acquire)
            {
                Ok(_) => {
                    self.len.fetch_sub(1, Relaxed);
                    // SAFETY: unlinked by us, the only popper: nobody else can reach it, and it
                    // came from `Box::into_raw` in `push`.
                    let node = unsafe { Box::from_raw(head) };
                    return Some(node.thread);
                }
                Err(now) => head = now,
            }
        }
    }
}

impl Drop for ThreadStack {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}
