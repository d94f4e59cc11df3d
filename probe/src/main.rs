//! A small program run by tests/thread_process.rs and tests/local.rs in a child process, to observe
//! what happens when `main` returns (Python's shutdown rule), what the default excepthook
//! prints, and what a `fork()` child sees.
//!
//! * `threadkit-probe shutdown MARKER`: starts a non-daemon thread that writes MARKER after
//!   300 ms and a daemon thread that would print after 30 s (far beyond any scheduling delay),
//!   then returns from `main` at once.
//!   The process must wait for the first and abandon the second.
//! * `threadkit-probe daemon-starts MARKER`: a daemon thread starts a non-daemon one, which
//!   writes MARKER; `main` returns as soon as that start has begun (the non-daemon thread is no
//!   longer `NEW`), before the thread can have run. The process must wait for it.
//! * `threadkit-probe main-local`: the main thread has a `Local` value whose `Drop` prints
//!   "main value dropped", and a non-daemon thread prints "worker done" after 200 ms; `main`
//!   returns at once. The value must be dropped once, after the worker is done.
//! * `threadkit-probe fork` (unix): with a non-daemon thread running, forks; the child checks
//!   that it is alone and returns from `main`, which must not wait for the vanished thread.
//! * `threadkit-probe spawn-exit MARKER`: `threadkit::spawn`, a default `Builder` and a
//!   `Thread` made daemon run endless background loops; a `Builder::daemon(false)` thread
//!   writes MARKER after 300 ms; `main` returns at once. The process must wait for the last
//!   and exit without the others (std's exit rule for `spawn` and `Builder`).
//! * `threadkit-probe main-join`: a non-daemon thread joins the main thread (first with a
//!   short timeout, which must time out, then without) and prints "main joined" with what it
//!   sees; `main` returns after 50 ms. CPython: the join returns once the main thread is done.
//! * `threadkit-probe panicking-hook`: the excepthook itself panics on a thread's panic; the
//!   process goes on (prints "contained") and stderr says "Exception in threadkit excepthook:".
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
        Some("daemon-starts") => {
            let marker = args[2].clone();
            let child = threadkit::Thread::new(move || {
                std::fs::write(&marker, "non-daemon done").unwrap();
            });
            assert!(!child.daemon());
            let c = child.clone();
            let starter = threadkit::Thread::new(move || c.start().unwrap()).with_daemon(true);
            starter.start().unwrap();
            // `set_daemon` fails once `start()` has made its first move: from then on the
            // child must count as a non-daemon thread being started.
            while child.set_daemon(false).is_ok() {
                std::hint::spin_loop();
            }
            println!("main returns");
        }
        Some("main-local") => {
            struct Loud;
            impl Drop for Loud {
                fn drop(&mut self) {
                    println!("main value dropped");
                }
            }
            // Leaked, so that the `Local` itself outlives `main`: only the main thread's own
            // end can drop its value.
            let local: &'static threadkit::Local<Loud> =
                Box::leak(Box::new(threadkit::Local::new(|| Loud)));
            local.with(|_| ());
            let worker = threadkit::Thread::new(|| {
                std::thread::sleep(Duration::from_millis(200));
                println!("worker done");
            });
            worker.start().unwrap();
            println!("main returns");
        }
        #[cfg(unix)]
        Some("fork") => fork::run(),
        Some("spawn-exit") => {
            let marker = args[2].clone();
            let _bg = threadkit::spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
            let _bg2 = threadkit::Builder::new()
                .name("background")
                .spawn(|| {
                    loop {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                })
                .unwrap();
            let _fg = threadkit::Builder::new()
                .daemon(false)
                .spawn(move || {
                    std::thread::sleep(Duration::from_millis(300));
                    std::fs::write(&marker, "non-daemon done").unwrap();
                })
                .unwrap();
            println!("main returns");
        }
        Some("main-join") => {
            let main = threadkit::main_thread();
            let joiner = threadkit::Thread::new(move || {
                let early = main.join_timeout(Duration::from_millis(1));
                main.join().unwrap();
                println!(
                    "main joined: early={early:?} alive={} ident={}",
                    main.is_alive(),
                    main.ident().is_some()
                );
            });
            joiner.start().unwrap();
            std::thread::sleep(Duration::from_millis(50));
            println!("main returns");
        }
        Some("panicking-hook") => {
            std::panic::set_hook(Box::new(|_| {}));
            threadkit::set_excepthook(Some(std::sync::Arc::new(
                |_: &threadkit::ExceptHookArgs<'_>| panic!("hook"),
            )));
            let t = threadkit::Thread::new(|| panic!("again"));
            t.start().unwrap();
            t.join().unwrap();
            assert!(t.panicked());
            println!("contained");
        }
        Some("panic") => {
            std::panic::set_hook(Box::new(|_| {}));
            let t = threadkit::Thread::new(|| panic!("boom")).with_name("worker");
            t.start().unwrap();
            t.join().unwrap();
            assert!(t.panicked());
        }
        _ => {
            eprintln!("usage: threadkit-probe shutdown MARKER | daemon-starts MARKER");
            eprintln!(
                "       threadkit-probe spawn-exit MARKER | main-local | main-join | fork | panic"
            );
            std::process::exit(2);
        }
    }
}

#[cfg(unix)]
mod fork {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    // The probe is a binary of the package, which cannot use the `libc` dev-dependency: the
    // four calls it needs, whose types are the same on Linux, macOS and FreeBSD.
    unsafe extern "C" {
        fn fork() -> i32;
        fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
        fn kill(pid: i32, sig: i32) -> i32;
        fn _exit(status: i32) -> !;
    }
    const WNOHANG: i32 = 1;
    const SIGKILL: i32 = 9;

    pub fn run() {
        let gate = Arc::new(threadkit::Event::new());
        let g = gate.clone();
        let worker = threadkit::Thread::new(move || g.wait());
        worker.start().unwrap();
        let me = threadkit::current_thread();
        assert_eq!(threadkit::main_thread(), me);
        // SAFETY: the child only uses threadkit (whose fork handlers made it consistent),
        // prints and returns from `main`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let problems = child_problems(&worker, &me);
            if !problems.is_empty() {
                println!("child: {problems:?}");
                // SAFETY: ends the child at once with a failure status.
                unsafe { _exit(3) };
            }
            println!("child ok");
            return; // from `main`: the shutdown hook must not wait for `worker`
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut status = 0;
        let exited = loop {
            // SAFETY: `pid` is our child; `status` is writable.
            let r = unsafe { waitpid(pid, &mut status, WNOHANG) };
            if r == pid {
                break true;
            }
            if Instant::now() > deadline {
                // SAFETY: `pid` is our child, still running.
                unsafe { kill(pid, SIGKILL) };
                // SAFETY: as above; reaps it.
                unsafe { waitpid(pid, &mut status, 0) };
                break false;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        gate.set();
        worker.join().unwrap();
        if !exited {
            println!("child hung");
            std::process::exit(4);
        }
        let code = if status & 0x7f == 0 {
            (status >> 8) & 0xff
        } else {
            128 + (status & 0x7f)
        };
        println!("child exit {code}");
        std::process::exit(code);
    }

    fn child_problems(worker: &threadkit::Thread, me: &threadkit::Thread) -> Vec<&'static str> {
        let mut problems = Vec::new();
        if threadkit::active_count() != 1 {
            problems.push("active_count() != 1");
        }
        if threadkit::enumerate() != vec![me.clone()] {
            problems.push("enumerate() != [current_thread()]");
        }
        if worker.is_alive() {
            problems.push("the vanished worker is alive");
        }
        if worker.join().is_err() {
            problems.push("join() of the vanished worker failed");
        }
        if threadkit::current_thread() != *me || threadkit::main_thread() != *me {
            problems.push("the forking thread is not current_thread() == main_thread()");
        }
        if !me.is_alive() {
            problems.push("the forking thread is not alive");
        }
        // ThreadSanitizer kills a multi-threaded fork's child that starts a thread (it does not
        // support that); its CI stage sets TSAN_OPTIONS.
        if std::env::var_os("TSAN_OPTIONS").is_none() {
            let t = threadkit::Thread::new(|| {});
            if t.start().is_err() || t.join().is_err() {
                problems.push("a new thread could not run in the child");
            }
        }
        problems
    }
}
