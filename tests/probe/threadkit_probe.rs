//! A small program run by tests/thread.rs in a child process, to observe what happens when
//! `main` returns (Python's shutdown rule) and what the default excepthook prints.
//!
//! * `threadkit-probe shutdown MARKER`: starts a non-daemon thread that writes MARKER after
//!   300 ms and a daemon thread that would print after 30 s (far beyond any scheduling delay),
//!   then returns from `main` at once.
//!   The process must wait for the first and abandon the second.
//! * `threadkit-probe panic`: a thread named "worker" panics with "boom".

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("shutdown") => {
            let marker = args[2].clone();
            let worker = threadkit::Thread::new(move || {
                std::thread::sleep(Duration::from_millis(300));
                std::fs::write(&marker, "non-daemon done").unwrap();
            });
            assert!(
                !worker.daemon(),
                "threads made by the main thread are not daemons"
            );
            worker.start().unwrap();
            let daemon = threadkit::Thread::new(|| {
                std::thread::sleep(Duration::from_secs(30));
                println!("daemon still running");
            })
            .with_daemon(true);
            daemon.start().unwrap();
            println!("main returns");
        }
        Some("panic") => {
            std::panic::set_hook(Box::new(|_| {}));
            let t = threadkit::Thread::new(|| panic!("boom")).with_name("worker");
            t.start().unwrap();
            t.join().unwrap();
            assert!(t.panicked());
        }
        _ => {
            eprintln!("usage: threadkit-probe shutdown MARKER | panic");
            std::process::exit(2);
        }
    }
}
