//! `Thread` stack sizes (`with_stack_size`, `stack_size()`, sizes the OS refuses) and many
//! threads at once: 10,000 threads alive with 64 KiB stacks.

mod common;
#[path = "common/crowd.rs"]
mod crowd;

use common::{Gate, serial};
use crowd::{crowd, join_all, room_for};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use threadkit::{Error, Thread};

#[test]
fn stack_size_rules() {
    let _s = serial(); // process-wide counts and hooks
    let t = Thread::new(|| {}).with_stack_size(1000);
    assert!(matches!(t.start(), Err(Error::InvalidStackSize(1000))));
    assert!(!t.is_alive());
    let t = t.with_stack_size(64 * 1024); // still NEW: the builder applies
    t.start().unwrap();
    t.join().unwrap();
    let t = Thread::new(|| {}).with_stack_size(32 * 1024 + 1); // rounded up to a page
    t.start().unwrap();
    t.join().unwrap();
}

/// Recurses until the stack in use (measured by address) reaches `target` bytes.
#[inline(never)]
fn dig(base: usize, target: usize) -> usize {
    let frame = std::hint::black_box([7u8; 512]);
    let here = std::hint::black_box(&frame) as *const _ as usize;
    if base.abs_diff(here) >= target {
        frame[0] as usize
    } else {
        dig(base, target) + std::hint::black_box(frame[1]) as usize
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri ignores the stack size")]
fn stack_of_n_bytes_is_really_usable() {
    let _s = serial(); // process-wide counts and hooks
    // 256 KiB requested: use 75% of it (the rest covers the thread's own frames and TLS).
    const N: usize = 256 * 1024;
    let t = Thread::new(|| {
        let base = 0u8;
        let base = std::hint::black_box(&base) as *const u8 as usize;
        dig(base, N * 3 / 4);
    })
    .with_stack_size(N);
    t.start().unwrap();
    t.join().unwrap();
    assert!(!t.panicked());
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot model an OS that refuses a stack")]
fn impossible_stack_is_an_os_error_and_leaks_nothing() {
    let _s = serial(); // process-wide counts and hooks
    let witness = Arc::new(());
    let w = witness.clone();
    let t = Thread::new(move || drop(w)).with_stack_size(1 << 40); // 1 TiB
    let next_before = Thread::new(|| {}).name();
    match t.start() {
        Err(Error::Os(e)) => eprintln!("1 TiB stack refused as expected: {e}"),
        Ok(()) => {
            eprintln!("skipped: this OS granted a 1 TiB stack");
            t.join().unwrap();
            return;
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
    assert!(!threadkit::enumerate().contains(&t), "not registered");
    let next_after = Thread::new(|| {}).name();
    let n = |s: String| s.strip_prefix("Thread-").unwrap().parse::<usize>().unwrap();
    assert_eq!(n(next_after), n(next_before) + 1, "start consumed no name");
    assert!(!t.is_alive());
    assert_eq!(
        Arc::strong_count(&witness),
        2,
        "the target is still owned by the Thread"
    );
    drop(t);
    assert_eq!(Arc::strong_count(&witness), 1, "nothing leaked");
}

#[test]
fn usize_max_stack_is_an_os_error_not_the_default() {
    let _s = serial(); // process-wide counts and hooks
    let before = threadkit::active_count();
    let t = Thread::new(|| {}).with_stack_size(usize::MAX);
    match t.start() {
        Err(Error::Os(e)) => eprintln!("usize::MAX stack refused: {e}"),
        other => panic!("usize::MAX stack: expected Err(Os), got {other:?}"),
    }
    assert!(!t.is_alive());
    assert!(matches!(t.join(), Err(Error::NotStarted)));
    assert!(!threadkit::enumerate().contains(&t), "not registered");
    assert_eq!(threadkit::active_count(), before);
    // Everything is as before: the same handle starts with a possible size.
    let t = t.with_stack_size(0);
    t.start().unwrap();
    t.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "10,000 threads are far beyond what Miri can run")]
fn ten_thousand_threads_with_64k_stacks() {
    let _s = serial(); // process-wide counts and hooks
    const N: usize = 10_000;
    if !room_for(N) {
        return;
    }
    let gate = Arc::new(Gate::new());
    let alive = Arc::new(AtomicUsize::new(0));
    let (g, a) = (gate.clone(), alive.clone());
    let Some(ts) = crowd(
        N,
        || gate.open(),
        move |_| {
            a.fetch_add(1, SeqCst);
            g.wait();
        },
    ) else {
        return;
    };
    assert!(common::eventually(|| alive.load(SeqCst) == N));
    assert!(ts.iter().all(Thread::is_alive));
    gate.open();
    join_all(&ts);
}
