//! A tour of the module functions: `current_thread()`, `main_thread()`, `enumerate()`,
//! `active_count()`, `get_ident()`, `get_native_id()`, with three named threads that stay
//! alive until an `Event` lets them go.
//!
//! Run: `cargo run --example thread_tour`

use std::sync::Arc;
use threadkit::{
    Error, Event, Thread, active_count, current_thread, enumerate, get_ident, main_thread,
};

fn main() -> Result<(), Error> {
    let me = current_thread();
    println!("current_thread: {}", me.name());
    println!("is_main_thread: {}", me == main_thread());
    println!("get_ident_matches: {}", Some(get_ident()) == me.ident());
    println!("active_count_alone: {}", active_count());

    let go = Arc::new(Event::new());
    let workers: Vec<Thread> = ["alpha", "beta", "gamma"]
        .into_iter()
        .map(|name| {
            let go = go.clone();
            Thread::new(move || {
                let t = current_thread();
                assert_eq!(t.name(), name); // the thread sees its own handle
                go.wait();
            })
            .with_name(name)
        })
        .collect();
    for w in &workers {
        w.start()?;
    }
    let mut names: Vec<String> = enumerate().iter().map(Thread::name).collect();
    names.sort();
    println!("enumerate: {}", names.join(", "));
    println!("active_count_with_workers: {}", active_count());
    println!("workers_alive: {}", workers.iter().all(Thread::is_alive));
    println!("idents_distinct: {}", {
        let mut ids: Vec<u64> = workers.iter().filter_map(Thread::ident).collect();
        ids.push(get_ident());
        ids.sort();
        ids.dedup();
        ids.len() == 4
    });

    go.set();
    for w in &workers {
        w.join()?;
    }
    println!(
        "workers_alive_after_join: {}",
        workers.iter().any(Thread::is_alive)
    );
    println!("active_count_after_join: {}", active_count());

    // A thread threadkit did not start gets a "Dummy-N" daemon handle, like in Python.
    let dummy = std::thread::scope(|s| {
        s.spawn(|| {
            let t = current_thread();
            (t.name(), t.daemon())
        })
        .join()
    })
    .expect("no panic");
    println!(
        "foreign_thread: name starts with Dummy: {}, daemon: {}",
        dummy.0.starts_with("Dummy"),
        dummy.1
    );
    Ok(())
}
