//! Thread and Local benchmarks, side by side with their baselines:
//!
//! * `spawn_join/{64KiB,default}`: threadkit `Thread::new + start + join` vs raw
//!   `pthread_create + pthread_join` (unix) vs `std::thread` spawn + join.
//! * `local_with`: `Local::with` after the first access vs a std `thread_local!` access vs the
//!   `thread_local` crate's `ThreadLocal::get`.
//!
//! Smoke run: `cargo bench --bench threads -- --quick`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::cell::Cell;
use std::hint::black_box;

const STACK_64K: usize = 64 * 1024;

fn tk_spawn_join(stack: usize) {
    let t = threadkit::Thread::new(|| {
        black_box(1);
    });
    let t = if stack == 0 {
        t
    } else {
        t.with_stack_size(stack)
    };
    t.start().unwrap();
    t.join().unwrap();
}

fn std_spawn_join(stack: usize) {
    let b = std::thread::Builder::new();
    let b = if stack == 0 { b } else { b.stack_size(stack) };
    b.spawn(|| {
        black_box(1);
    })
    .unwrap()
    .join()
    .unwrap();
}

#[cfg(unix)]
fn pthread_spawn_join(stack: usize) {
    extern "C" fn body(_: *mut libc::c_void) -> *mut libc::c_void {
        black_box(1);
        std::ptr::null_mut()
    }
    // SAFETY: standard pthread attr/create/join sequence on local, initialised storage.
    unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        assert_eq!(libc::pthread_attr_init(attr.as_mut_ptr()), 0);
        if stack != 0 {
            assert_eq!(libc::pthread_attr_setstacksize(attr.as_mut_ptr(), stack), 0);
        }
        let mut id = std::mem::MaybeUninit::<libc::pthread_t>::uninit();
        let r = libc::pthread_create(id.as_mut_ptr(), attr.as_ptr(), body, std::ptr::null_mut());
        assert_eq!(r, 0);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        assert_eq!(
            libc::pthread_join(id.assume_init(), std::ptr::null_mut()),
            0
        );
    }
}

fn spawn_join(c: &mut Criterion) {
    for (label, stack) in [("64KiB", STACK_64K), ("default", 0)] {
        let mut g = c.benchmark_group(format!("spawn_join/{label}"));
        g.bench_function("threadkit", |b| b.iter(|| tk_spawn_join(stack)));
        #[cfg(unix)]
        g.bench_function("pthread", |b| b.iter(|| pthread_spawn_join(stack)));
        g.bench_function("std", |b| b.iter(|| std_spawn_join(stack)));
        g.finish();
    }
}

thread_local! {
    static STD_LOCAL: Cell<u64> = const { Cell::new(0) };
}

fn local_with(c: &mut Criterion) {
    let mut g = c.benchmark_group("local_with");
    let tk = threadkit::Local::new(|| Cell::new(0u64));
    tk.with(|v| v.set(1));
    g.bench_function("threadkit", |b| {
        b.iter(|| black_box(&tk).with(|v| v.set(v.get() + 1)))
    });
    g.bench_function("std_thread_local", |b| {
        b.iter(|| STD_LOCAL.with(|v| v.set(v.get() + 1)))
    });
    let tl = thread_local::ThreadLocal::new();
    tl.get_or(|| Cell::new(0u64));
    g.bench_function("thread_local_crate", |b| {
        b.iter(|| {
            let v = black_box(&tl).get().unwrap();
            v.set(v.get() + 1)
        })
    });
    g.finish();
}

criterion_group!(benches, spawn_join, local_with);
criterion_main!(benches);
