//! `Local`: CPython's test_threading_local.py behaviours (per-thread isolation, init once per
//! thread, values dropped when their thread exits and when the local is dropped, no leaks
//! with many short threads) plus foreign threads and re-entrancy.

mod common;
#[path = "common/probe.rs"]
mod probe;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::SeqCst};
use threadkit::{Local, Thread};

/// Counts live heap bytes, to show that memory stays bounded.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
// SAFETY: forwards to the system allocator unchanged, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, SeqCst);
        // SAFETY: same layout contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, SeqCst);
        // SAFETY: `p` came from `alloc` with `l`.
        unsafe { System.dealloc(p, l) }
    }
}
// Not under Miri: the one test that reads the count is ignored there, and on Windows std's
// `System` allocator (which this wrapper would route every allocation through, the test
// harness's own included) trips Stacked Borrows on over-aligned blocks.
#[cfg(not(miri))]
#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts drops.
struct Tracked(Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

const N: usize = if cfg!(miri) { 3 } else { 20 };

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn local_is_send_and_sync_for_send_t() {
    assert_send_sync::<Local<Cell<u32>>>(); // Cell is Send, not Sync
    assert_send_sync::<Local<RefCell<Vec<u8>>>>();
}

#[test]
fn each_thread_sees_its_own_value() {
    let local = Arc::new(Local::new(|| Cell::new(0usize)));
    local.with(|v| v.set(1000));
    let hs: Vec<_> = (0..N)
        .map(|i| {
            let l = local.clone();
            threadkit::spawn(move || {
                assert_eq!(l.with(|v| v.get()), 0, "fresh value in a new thread");
                l.with(|v| v.set(i));
                l.with(|v| v.get())
            })
        })
        .collect();
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), i);
    }
    assert_eq!(local.with(|v| v.get()), 1000);
}

#[test]
fn init_runs_once_per_thread() {
    let inits = Arc::new(AtomicUsize::new(0));
    let i = inits.clone();
    let local = Arc::new(Local::new(move || {
        i.fetch_add(1, SeqCst);
        5u8
    }));
    for _ in 0..3 {
        assert_eq!(local.with(|v| *v), 5);
    }
    assert_eq!(inits.load(SeqCst), 1);
    let l = local.clone();
    threadkit::spawn(move || {
        l.with(|_| ());
        l.with(|_| ());
    })
    .join()
    .unwrap();
    assert_eq!(inits.load(SeqCst), 2);
}

#[test]
fn value_dropped_when_threadkit_thread_exits() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let local = Arc::new(Local::new(move || Tracked(d.clone())));
    let ts: Vec<Thread> = (0..N)
        .map(|_| {
            let l = local.clone();
            let t = Thread::new(move || l.with(|_| ()));
            t.start().unwrap();
            t
        })
        .collect();
    for t in &ts {
        t.join().unwrap();
    }
    // Python's test_local_refs: after join the thread's values are gone.
    assert_eq!(drops.load(SeqCst), N);
    drop(local);
    assert_eq!(drops.load(SeqCst), N);
}

#[test]
fn value_dropped_when_std_thread_exits() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let local = Arc::new(Local::new(move || Tracked(d.clone())));
    let l = local.clone();
    std::thread::spawn(move || l.with(|_| ())).join().unwrap();
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn all_values_dropped_with_the_local() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let local = Arc::new(Local::new(move || Tracked(d.clone())));
    let gate = Arc::new(common::Gate::new());
    // A threadkit semaphore, not an mpsc channel: the channel's over-aligned block goes
    // through std's Windows `System` allocator, whose header read Miri's Stacked Borrows
    // rejects once a counting `#[global_allocator]` routes allocations through it.
    let touched = Arc::new(threadkit::Semaphore::new(0));
    let hs: Vec<_> = (0..N)
        .map(|_| {
            let (l, g, t) = (local.clone(), gate.clone(), touched.clone());
            threadkit::spawn(move || {
                l.with(|_| ());
                drop(l);
                t.release().unwrap();
                g.wait();
            })
        })
        .collect();
    for _ in 0..N {
        touched.acquire();
    }
    local.with(|_| ());
    assert_eq!(drops.load(SeqCst), 0);
    drop(local); // last handle: drops every live thread's value
    assert_eq!(drops.load(SeqCst), N + 1);
    gate.open();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(drops.load(SeqCst), N + 1, "nothing dropped twice");
}

#[test]
fn reentrant_use_in_init_and_drop() {
    let inner = Arc::new(Local::new(|| 7u32));
    let i = inner.clone();
    // init uses another Local; a value's Drop uses a Local too.
    struct UsesLocal(Arc<Local<u32>>);
    impl Drop for UsesLocal {
        fn drop(&mut self) {
            assert_eq!(self.0.with(|v| *v), 7);
        }
    }
    let outer = Arc::new(Local::new(move || {
        let v = i.with(|v| *v);
        (v, UsesLocal(i.clone()))
    }));
    let o = outer.clone();
    let t = Thread::new(move || assert_eq!(o.with(|v| v.0), 7));
    t.start().unwrap();
    t.join().unwrap();
    assert!(!t.panicked());
    assert_eq!(outer.with(|v| v.0), 7);
}

#[test]
fn default_and_non_static_values() {
    let l: Local<Vec<u8>> = Local::default();
    assert!(l.with(|v| v.is_empty()));
    static TEXT: &str = "borrowed";
    let l: Local<&'static str> = Local::new(|| TEXT);
    assert_eq!(l.with(|s| s.len()), 8);
    assert!(format!("{l:?}").contains("Local"));
}

#[test]
#[cfg_attr(miri, ignore = "counts heap bytes process-wide; slow under Miri")]
fn ten_thousand_short_threads_keep_memory_bounded() {
    let _s = common::serial();
    let local = Arc::new(Local::new(|| [0u8; 256]));
    let run = |n: usize| {
        for _ in 0..n {
            let l = local.clone();
            let t = Thread::new(move || l.with(|v| assert_eq!(v[0], 0)));
            t.start().unwrap();
            t.join().unwrap();
        }
    };
    run(100); // warm up: tables, registry and the first bucket exist
    let before = LIVE.load(SeqCst);
    run(10_000);
    let grown = LIVE.load(SeqCst) - before;
    eprintln!("live heap growth over 10,000 threads: {grown} bytes");
    assert!(grown < 64 * 1024, "memory grew by {grown} bytes");
}

#[test]
fn local_drop_races_with_thread_exits() {
    let rounds = if cfg!(miri) { 2 } else { 50 };
    for _ in 0..rounds {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let local = Arc::new(Local::new(move || Tracked(d.clone())));
        let hs: Vec<_> = (0..N.min(4))
            .map(|_| {
                let l = local.clone();
                threadkit::spawn(move || {
                    l.with(|_| ());
                    drop(l); // the last owner may drop the Local while others exit
                })
            })
            .collect();
        drop(local);
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(
            drops.load(SeqCst),
            N.min(4),
            "each value dropped exactly once"
        );
    }
}

#[test]
fn a_value_may_own_the_last_handle_to_another_local() {
    // Thread exit drops its value in `a`, which drops the last handle to `b`, in which the same
    // thread also has a value: no deadlock, everything dropped once.
    // `a` first, so that it usually sits before `b` in the table and is visited first.
    type Holder = RefCell<Option<Arc<Local<Tracked>>>>;
    let a: Arc<Local<Holder>> = Arc::new(Local::new(|| RefCell::new(None)));
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let b = Arc::new(Local::new(move || Tracked(d.clone())));
    let b2 = b.clone();
    let a2 = a.clone();
    let t = Thread::new(move || {
        b2.with(|_| ());
        a2.with(|slot| *slot.borrow_mut() = Some(b2.clone()));
        drop(b2);
    });
    drop(b);
    t.start().unwrap();
    t.join().unwrap();
    assert!(!t.panicked());
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn a_value_may_own_the_last_handle_to_its_own_local() {
    // CPython's test_derived_cycle_dealloc: the thread's exit drops its value, which drops the
    // last handle to the `Local` that holds it. Nothing may wait for that exit to end.
    struct Cycle {
        own: RefCell<Option<Arc<Local<Cycle>>>>,
        _drops: Tracked,
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let local = Arc::new(Local::new(move || Cycle {
        own: RefCell::new(None),
        _drops: Tracked(d.clone()),
    }));
    let t = Thread::new(move || {
        local.with(|c| *c.own.borrow_mut() = Some(local.clone()));
        // `local` (this closure's handle) goes now: the value holds the only one left.
    });
    t.start().unwrap();
    assert!(
        t.join_timeout(std::time::Duration::from_secs(60)).unwrap(),
        "the thread's exit hung"
    );
    assert!(!t.panicked());
    assert_eq!(drops.load(SeqCst), 1, "the value was dropped once");
}

#[test]
fn locals_dropped_before_a_thread_exits_are_skipped() {
    // A thread that touched many `Local`s which are gone by the time it exits, and a long-lived
    // thread that keeps touching new ones: nothing dangles, every value is dropped once.
    let _s = common::serial();
    let drops = Arc::new(AtomicUsize::new(0));
    let n = if cfg!(miri) { 20 } else { 1000 };
    let d = drops.clone();
    let h = threadkit::spawn(move || {
        let mut keep = Vec::new();
        for i in 0..n {
            let d = d.clone();
            let l = Local::new(move || Tracked(d.clone()));
            l.with(|_| ());
            if i % 10 == 0 {
                keep.push(l); // dropped with the thread's target, before its exit
            } // the rest: dropped right away, values with them
        }
        keep
    });
    let kept = h.join().unwrap();
    assert_eq!(drops.load(SeqCst), n);
    drop(kept);
    assert_eq!(drops.load(SeqCst), n);
}

#[test]
#[cfg_attr(miri, ignore = "runs a child process")]
fn main_thread_values_drop_after_non_daemon_threads() {
    // The main thread's values live until `main` has returned and the non-daemon threads are
    // joined, then are dropped once (glibc's exit destroys the main thread's TLS before the
    // atexit hooks; other C libraries may never destroy it).
    let out = probe::probe().arg("main-local").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        ["main returns", "worker done", "main value dropped"],
        "{stdout}"
    );
}
