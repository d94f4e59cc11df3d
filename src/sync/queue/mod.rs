//! Python's `queue` module: [`Queue`] (FIFO), [`LifoQueue`], [`PriorityQueue`] and
//! [`SimpleQueue`], with CPython 3.13's semantics (`task_done`/`join`, `shutdown`) and Rust's
//! shapes: an item that cannot be put comes back inside [`PutError`], so nothing is lost.
//!
//! | Python                             | threadkit                                      |
//! |------------------------------------|------------------------------------------------|
//! | `queue.Queue(maxsize)`             | [`Queue::with_maxsize`]                        |
//! | `q.put(x)` / `q.get()`             | [`Queue::put`] / [`Queue::get`]                |
//! | `q.put(x, timeout=t)`              | [`Queue::put_timeout`]                         |
//! | `q.put_nowait(x)` / `q.get_nowait()` | [`Queue::put_nowait`] / [`Queue::get_nowait`] |
//! | `queue.Full` / `queue.Empty`       | [`PutError::Full`] / [`GetError::Empty`]       |
//! | `queue.ShutDown`                   | [`PutError::ShutDown`] / [`GetError::ShutDown`] |
//! | `q.task_done()` / `q.join()`       | [`Queue::task_done`] / [`Queue::join`]         |
//! | `q.shutdown(immediate)`            | [`Queue::shutdown`] (returns the removed items) |
//!
//! # How it works
//!
//! A bounded [`Queue`] of at most 2^16 slots (and at most 1 MiB of them) runs on a lock-free
//! ring allocated at construction (`ring.rs`: Vyukov's bounded MPMC ring with per-slot stamps,
//! the shutdown flag a mark bit in the tail, `unfinished` read off the tail as puts minus
//! tasks done); every other [`Queue`] (unbounded, or bounded and larger) runs on a lock-free
//! linked list of 127-slot segments (`list.rs`, `segment.rs`: laid out as crossbeam-channel's
//! list flavour, with the same mark bit and task count, a segment allocated (or the one kept
//! reused) per 127 puts and handed back by the get that completes its read count). Both have
//! an event count per condition (`sleepers.rs`: a waker makes a wake-up call only for a
//! counted sleeper that has none coming), glued together once in
//! `fifo.rs` over the `Slots` trait of `lockfree.rs`. [`SimpleQueue`] runs on the list too
//! (it never reads the task count nor shuts down). An uncontended `put` or `get` there is
//! one CAS, one slot store and one load of the other side's sleeper count (and, for a `get`
//! on the list, one add to its segment's read count). The rest of this
//! section describes the locked engine that [`LifoQueue`] and [`PriorityQueue`] run on (and
//! a `Queue` or `SimpleQueue` on a target without 64-bit positions).
//!
//! Every such queue is one engine: a [`Lock`](crate::Lock) over the items (a ring buffer, a stack
//! or a binary heap) and the counts, plus three 32-bit futex words that sleepers wait on.
//!
//! | field (under the lock) | meaning                                                     |
//! |------------------------|-------------------------------------------------------------|
//! | `store`                | the items, in the order of the queue type                   |
//! | `unfinished`           | items put and not yet marked done (Python `unfinished_tasks`) |
//! | `getters` / `putters` / `joiners` | threads counted as (about to be) asleep on `not_empty` / `not_full` / `all_done` (getters and putters with the wake-ups issued to them, `inner.rs`) |
//! | `shutdown`             | `shutdown()` was called                                     |
//!
//! | word (futex)  | bumped (under the lock) when                                       |
//! |---------------|--------------------------------------------------------------------|
//! | `not_empty`   | an item arrives and a counted getter has no wake-up coming; on shutdown |
//! | `not_full`    | an item leaves and a counted putter has no wake-up coming; on shutdown |
//! | `all_done`    | `unfinished` reaches 0 (task_done or immediate shutdown) and a joiner is counted |
//!
//! ```text
//!  get: lock ── item? ──yes──> take it; unlock; wake one counted putter (if one has no
//!                │                wake-up coming)
//!                │no
//!                ├─ shutdown? -> Err(ShutDown);  nowait/deadline passed? -> Err(Empty)
//!                ├─ first time: unlock, spin briefly on the length mirror, relock, look again
//!                └─ count in (getters + 1, issued 0); seq = not_empty; unlock;
//!                   futex_wait(not_empty, seq); lock; leave (getters - 1, issued - 1);
//!                   look again
//!  put: the mirror image (shutdown is checked first, then room), waking one counted getter.
//! ```
//!
//! A sleeper reads its word's value under the lock, and whoever makes its condition true
//! bumps that word under the lock, so the kernel's compare in `wait` fails if the change came
//! between the unlock and the sleep: no wake-up is lost. An item that arrives wakes
//! `min(items added, counted getters without a wake-up coming)` sleepers (a getter woken but
//! not yet run costs its putters one call, not one per `put`; the rule is at `Counted` in
//! `inner.rs`); a woken getter always looks for an item
//! before it looks at its deadline, so a wake-up is never wasted on a waiter that then reports
//! `Empty`. An uncontended `put` or `get` is a lock, a push or pop, an unlock: no system call.
//! Before it sleeps a waiter spins on the lock-free length mirror (`wait::spin`, long only
//! while the queue's hint says the last wait was short), never yielding in a loop.
//!
//! The lock guard brings the length mirror and `unfinished` in line with the store when it is
//! dropped, also when `T`'s `Ord` or `Drop` panicked under it: a `put` whose heap sift panicked
//! leaves its item in the queue, counted as a task and announced to getters; nothing is lost,
//! duplicated or counted twice, and there is no poisoning.
//!
//! # Memory ordering
//!
//! The items and counts are only touched under the lock, whose acquire/release orders a `put`
//! before the `get` that takes its item (what the producer wrote before `put` is visible after
//! `get`). The words are bumped and read under the lock too, so `Relaxed` suffices for them;
//! the length mirror and the shutdown flag are `Relaxed` snapshots (`qsize()`, spins) that
//! never decide a result on their own: every decision is made again under the lock.

mod block;
mod ends;
mod engine;
mod error;
mod fifo;
mod inner;
mod list;
mod lockfree;
mod queues;
mod ring;
mod segment;
mod simple;
mod sleepers;
mod store;

pub use error::{GetError, PutError};
pub use queues::{LifoQueue, PriorityQueue, Queue};
pub use simple::SimpleQueue;

/// Items per segment of the list behind an unbounded [`Queue`] or [`SimpleQueue`] (for tests
/// that cross segment steps at every offset; not part of the API).
#[doc(hidden)]
pub const SEGMENT_SLOTS: usize = segment::SLOTS;
