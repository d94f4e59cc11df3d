//! Per-thread data with `Local` (Python: `mydata = threading.local(); mydata.x = 1`). Each
//! thread counts into its own value; nobody sees anyone else's, and the main thread's value is
//! untouched. Rust's `Local<T>` is typed: the attributes are the fields of `T`.
//!
//! Run: `cargo run --example thread_local_data`

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use threadkit::{Local, current_thread, spawn};

#[derive(Default)]
struct MyData {
    x: Cell<u64>,
    log: RefCell<Vec<String>>,
}

fn main() {
    let mydata: Arc<Local<MyData>> = Arc::new(Local::new(MyData::default));
    mydata.with(|d| d.x.set(1)); // the main thread's own `mydata.x = 1`

    let handles: Vec<_> = (1..=4u64)
        .map(|i| {
            let data = mydata.clone();
            spawn(move || {
                for _ in 0..i * 1000 {
                    data.with(|d| d.x.set(d.x.get() + 1));
                }
                data.with(|d| d.log.borrow_mut().push(current_thread().name()));
                (i, data.with(|d| (d.x.get(), d.log.borrow().len())))
            })
        })
        .collect();
    let mut results: Vec<(u64, (u64, usize))> = handles
        .into_iter()
        .map(|h| h.join().expect("worker panicked"))
        .collect();
    results.sort();
    for (i, (x, log_len)) in results {
        println!(
            "thread {i}: x={x} expected={} log_entries={log_len}",
            i * 1000
        );
    }
    println!("main: x={}", mydata.with(|d| d.x.get()));
}
