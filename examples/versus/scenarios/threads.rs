//! Thread start + join, and thread-local access.

use crate::harness::{Contender, Family, Scenario, timed_loop};
use std::cell::Cell;
use std::hint::black_box;

const SMALL_STACK: usize = 64 * 1024;

fn row(name: &'static str, stack: usize) -> Scenario {
    #[allow(unused_mut)]
    let mut contenders = vec![
        Contender::new(Family::Threadkit, "Thread start+join", move |ops| {
            timed_loop(ops, || {
                let mut t = threadkit::Thread::new(|| {
                    black_box(());
                });
                if stack != 0 {
                    t = t.with_stack_size(stack);
                }
                if t.start().is_ok() {
                    let _ = t.join();
                }
            })
        }),
        Contender::new(Family::Std, "thread::Builder spawn+join", move |ops| {
            timed_loop(ops, || {
                let mut b = std::thread::Builder::new();
                if stack != 0 {
                    b = b.stack_size(stack);
                }
                if let Ok(h) = b.spawn(|| black_box(())) {
                    let _ = h.join();
                }
            })
        }),
    ];
    #[cfg(unix)]
    contenders.push(Contender::new(
        Family::Libc,
        "pthread_create+join",
        move |ops| {
            timed_loop(ops, || {
                let _ = crate::baselines::pthread_start_join(stack);
            })
        },
    ));
    Scenario { name, contenders }
}

pub fn thread_small_stack() -> Scenario {
    row("Thread start+join, 64 KiB stack", SMALL_STACK)
}

pub fn thread_default_stack() -> Scenario {
    row("Thread start+join, default stack", 0)
}

thread_local! {
    static STD_LOCAL: Cell<u64> = const { Cell::new(0) };
}

/// One access that reads and writes this thread's value.
pub fn local_access() -> Scenario {
    let tk = threadkit::Local::new(|| Cell::new(0u64));
    let tl = thread_local::ThreadLocal::<Cell<u64>>::new();
    Scenario {
        name: "Local::with (read + write)",
        contenders: vec![
            Contender::new(Family::Threadkit, "Local<Cell<u64>>", move |ops| {
                timed_loop(ops, || black_box(&tk).with(|c| c.set(c.get() + 1)))
            }),
            Contender::new(Family::Std, "thread_local!", move |ops| {
                timed_loop(ops, || black_box(&STD_LOCAL).with(|c| c.set(c.get() + 1)))
            }),
            Contender::new(
                Family::ThreadLocalCrate,
                "ThreadLocal<Cell<u64>>",
                move |ops| {
                    timed_loop(ops, || {
                        let c = black_box(&tl).get_or(|| Cell::new(0));
                        c.set(c.get() + 1);
                    })
                },
            ),
        ],
    }
}
