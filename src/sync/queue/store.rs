//! The three orders a queue can keep its items in: a ring buffer (FIFO, `Queue` and
//! `SimpleQueue`), a stack (LIFO, `LifoQueue`) and a binary min-heap (`PriorityQueue`, the
//! algorithm of Python's `heapq`).
//!
//! Each is only ever touched under the queue's lock. None of them shrinks its buffer, so a
//! bounded queue that has been full once never allocates again.
//!
//! # Panics in `T`'s `Ord`
//!
//! Only the heap calls user code (`T::lt`). Its sifts move items by swapping two slots, never
//! through a hole, so a comparison that panics leaves the vector a permutation of the items it
//! held: nothing is lost, duplicated or dropped, and the length is right. Only the heap order
//! may be off after such a panic (as in Python, where an exception in `__lt__` leaves the
//! `heapq` list in some order). `pop` swaps the smallest item to the end and takes it out of the
//! vector only once the sift is over, so a panicking `pop` leaves the item in the queue.

use std::collections::VecDeque;

/// An order of items: what the queue engine needs from its storage.
pub(crate) trait Store {
    /// The item type.
    type Item;
    /// An empty store.
    fn new() -> Self;
    /// How many items it holds.
    fn len(&self) -> usize;
    /// Adds an item.
    fn push(&mut self, item: Self::Item);
    /// Takes the next item in this store's order.
    fn pop(&mut self) -> Option<Self::Item>;
    /// Moves every item into `out`, in the order [`pop`](Store::pop) would return them.
    fn drain_into(&mut self, out: &mut Vec<Self::Item>) {
        out.reserve(self.len());
        while let Some(item) = self.pop() {
            out.push(item);
        }
    }
}

/// First in, first out: a growable ring buffer (a `Queue`'s store only where the lock-free
/// ones are not used, see `fifo.rs`).
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
#[derive(Debug)]
pub(crate) struct Fifo<T>(VecDeque<T>);

impl<T> Store for Fifo<T> {
    type Item = T;
    fn new() -> Self {
        Fifo(VecDeque::new())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn drain_into(&mut self, out: &mut Vec<T>) {
        out.extend(self.0.drain(..));
    }
}

/// Last in, first out: a vector used as a stack.
#[derive(Debug)]
pub(crate) struct Lifo<T>(Vec<T>);

impl<T> Store for Lifo<T> {
    type Item = T;
    fn new() -> Self {
        Lifo(Vec::new())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn drain_into(&mut self, out: &mut Vec<T>) {
        out.extend(self.0.drain(..).rev());
    }
}

/// Smallest first: a binary min-heap in a vector, ordered by `T::lt` like `heapq`.
#[derive(Debug)]
pub(crate) struct Heap<T>(Vec<T>);

impl<T: Ord> Heap<T> {
    /// Moves the item at `i` up towards the root while it is smaller than its parent.
    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.0[i] < self.0[parent] {
                self.0.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    /// Moves the item at `i` down while a child of it (within the first `end` slots) is smaller.
    fn sift_down(&mut self, mut i: usize, end: usize) {
        loop {
            let left = 2 * i + 1;
            if left >= end {
                break;
            }
            let right = left + 1;
            let child = if right < end && self.0[right] < self.0[left] {
                right
            } else {
                left
            };
            if self.0[child] < self.0[i] {
                self.0.swap(i, child);
                i = child;
            } else {
                break;
            }
        }
    }
}

impl<T: Ord> Store for Heap<T> {
    type Item = T;
    fn new() -> Self {
        Heap(Vec::new())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    fn push(&mut self, item: T) {
        self.0.push(item);
        let last = self.0.len() - 1;
        self.sift_up(last);
    }
    fn pop(&mut self) -> Option<T> {
        let n = self.0.len();
        if n > 1 {
            // The smallest goes last and stays in the vector until the sift is over (see the
            // module docs: a panicking comparison then loses nothing).
            self.0.swap(0, n - 1);
            self.sift_down(0, n - 1);
        }
        self.0.pop()
    }
    fn drain_into(&mut self, out: &mut Vec<T>) {
        // Heapsort in place (smallest last), then move the items out: a panicking comparison
        // leaves every item in the store (see the module docs).
        let mut end = self.0.len();
        while end > 1 {
            self.0.swap(0, end - 1);
            end -= 1;
            self.sift_down(0, end);
        }
        out.extend(self.0.drain(..).rev());
    }
}

#[cfg(test)]
mod tests {
    use super::{Fifo, Heap, Lifo, Store};

    fn drained<S: Store<Item = u32>>(items: &[u32]) -> (Vec<u32>, Vec<u32>) {
        let mut a = S::new();
        let mut b = S::new();
        for &i in items {
            a.push(i);
            b.push(i);
        }
        let mut popped = Vec::new();
        while let Some(i) = a.pop() {
            popped.push(i);
        }
        let mut all = Vec::new();
        b.drain_into(&mut all);
        (popped, all)
    }

    #[test]
    fn orders() {
        let items = [5, 1, 4, 1, 9, 2, 6, 0, 3];
        let (p, d) = drained::<Fifo<u32>>(&items);
        assert_eq!(p, items);
        assert_eq!(d, items);
        let (p, d) = drained::<Lifo<u32>>(&items);
        let rev: Vec<u32> = items.iter().rev().copied().collect();
        assert_eq!(p, rev);
        assert_eq!(d, rev);
        let (p, d) = drained::<Heap<u32>>(&items);
        let mut sorted = items.to_vec();
        sorted.sort();
        assert_eq!(p, sorted);
        assert_eq!(d, sorted);
    }
}
