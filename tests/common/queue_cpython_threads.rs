//! The thread-heavy half of the `BaseQueueTestMixin` port (tests/queue_cpython.rs): the
//! shutdown tests that run producers, consumers and joiners side by side.

use super::PyQueue;
use std::sync::{Barrier, Mutex};
use std::thread;
use threadkit::{Event, GetError, PutError};

/// `_write_msg_thread`: puts half its items, meets the others at the barrier, puts the rest;
/// the thread that reaches `when` first triggers the shutdown.
fn write_msg_thread<Q: PyQueue<(usize, &'static str)>>(
    q: &Q,
    n: usize,
    results: &Mutex<Vec<bool>>,
    when: usize,
    event_shutdown: &Event,
    barrier: &Barrier,
) {
    for i in 0..when / 2 {
        q.put((i, "LOYD")).unwrap();
    }
    barrier.wait();
    for i in when / 2..n {
        if q.put((i, "YDLO")).is_err() {
            results.lock().unwrap().push(false);
            break;
        }
        if i == when && !event_shutdown.is_set() {
            event_shutdown.set();
            results.lock().unwrap().push(true);
        }
    }
}

/// `_read_msg_thread`: one blocking get, the barrier, then non-blocking gets until ShutDown.
fn read_msg_thread<Q: PyQueue<(usize, &'static str)>>(
    q: &Q,
    results: &Mutex<Vec<bool>>,
    barrier: &Barrier,
) {
    q.get().unwrap();
    q.task_done().unwrap();
    barrier.wait();
    loop {
        match q.get_nowait() {
            Ok(_) => q.task_done().unwrap(),
            Err(GetError::ShutDown) => {
                results.lock().unwrap().push(true);
                break;
            }
            Err(GetError::Empty) => {}
        }
    }
}

pub(super) fn shutdown_all_methods_in_many_threads<Q: PyQueue<(usize, &'static str)>>(
    immediate: bool,
) {
    let q = Q::make(0);
    let (write_threads, read_threads, join_threads) = (4, 6, 2);
    let nb_msgs = if cfg!(miri) { 64 } else { 1024 * 64 };
    let nb_msgs_w = nb_msgs / write_threads;
    let when_exec_shutdown = nb_msgs_w / 2;
    let nparties = write_threads + read_threads + if immediate { join_threads } else { 0 };
    let barrier = Barrier::new(nparties);
    let ev_exec_shutdown = Event::new();
    let res_puts = Mutex::new(Vec::new());
    let res_gets = Mutex::new(Vec::new());
    let res_shutdown = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..write_threads {
            s.spawn(|| {
                write_msg_thread(
                    &q,
                    nb_msgs_w,
                    &res_puts,
                    when_exec_shutdown,
                    &ev_exec_shutdown,
                    &barrier,
                )
            });
        }
        for _ in 0..read_threads {
            s.spawn(|| read_msg_thread(&q, &res_gets, &barrier));
        }
        s.spawn(|| {
            ev_exec_shutdown.wait();
            q.shutdown(immediate);
            res_shutdown.lock().unwrap().push(q.qsize() == 0);
        });
        if immediate {
            for _ in 0..join_threads {
                s.spawn(|| {
                    barrier.wait();
                    q.join();
                });
            }
        }
    });
    assert!(res_puts.lock().unwrap().contains(&true));
    let gets = res_gets.lock().unwrap();
    assert_eq!(gets.iter().filter(|r| **r).count(), read_threads);
    if immediate {
        assert_eq!(*res_shutdown.lock().unwrap(), [true]);
        assert!(q.empty());
    }
}

/// `_get` / `_get_shutdown`: `true` when the outcome is the expected one.
fn get<Q: PyQueue<&'static str>>(q: &Q, go: &Event, results: &Mutex<Vec<bool>>, shutdown: bool) {
    go.wait();
    let r = match q.get() {
        Ok(_) => !shutdown,
        Err(GetError::ShutDown) => shutdown,
        Err(GetError::Empty) => unreachable!("a blocking get never reports Empty"),
    };
    results.lock().unwrap().push(r);
}

fn get_task_done<Q: PyQueue<&'static str>>(q: &Q, go: &Event, results: &Mutex<Vec<bool>>) {
    go.wait();
    let r = match q.get() {
        Ok(_) => {
            q.task_done().unwrap();
            true
        }
        Err(_) => false,
    };
    results.lock().unwrap().push(r);
}

fn put<Q: PyQueue<&'static str>>(
    q: &Q,
    msg: &'static str,
    go: &Event,
    results: &Mutex<Vec<bool>>,
    shutdown: bool,
) {
    go.wait();
    let r = match q.put(msg) {
        Ok(()) => !shutdown,
        Err(PutError::ShutDown(m)) => {
            assert_eq!(m, msg);
            shutdown
        }
        Err(PutError::Full(_)) => unreachable!("a blocking put never reports Full"),
    };
    results.lock().unwrap().push(r);
}

fn join<Q: PyQueue<&'static str>>(q: &Q, results: &Mutex<Vec<bool>>) {
    q.join();
    results.lock().unwrap().push(true);
}

pub(super) fn shutdown_get<Q: PyQueue<&'static str>>(immediate: bool) {
    let q = Q::make(2);
    let results = Mutex::new(Vec::new());
    let go = Event::new();
    q.put("Y").unwrap();
    q.put("D").unwrap();
    let n = if immediate { 2 } else { 3 };
    thread::scope(|s| {
        for _ in 0..n {
            // immediate: every get fails; otherwise one of the three does.
            s.spawn(|| get(&q, &go, &results, immediate));
        }
        q.shutdown(immediate);
        go.set();
    });
    let mut results = results.into_inner().unwrap();
    results.sort();
    if immediate {
        assert_eq!(results, [true, true]);
    } else {
        assert_eq!(results, [false, true, true]);
    }
}

pub(super) fn shutdown_put<Q: PyQueue<&'static str>>(_immediate: bool) {
    // CPython's `_shutdown_put` calls `q.shutdown()` in both variants; so does the port.
    let q = Q::make(2);
    let results = Mutex::new(Vec::new());
    let go = Event::new();
    q.put("Y").unwrap();
    q.put("D").unwrap();
    thread::scope(|s| {
        s.spawn(|| put(&q, "E", &go, &results, true));
        s.spawn(|| put(&q, "W", &go, &results, true));
        q.shutdown(false);
        go.set();
    });
    assert_eq!(results.into_inner().unwrap(), [true, true]);
}

pub(super) fn shutdown_join<Q: PyQueue<&'static str>>(immediate: bool) {
    let q = Q::make(0);
    let results = Mutex::new(Vec::new());
    let res = Mutex::new(Vec::new());
    q.put("Y").unwrap();
    let go = Event::new();
    let nb = q.qsize();
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| join(&q, &results));
        }
        if !immediate {
            for _ in 0..nb {
                s.spawn(|| get_task_done(&q, &go, &res));
            }
        }
        q.shutdown(immediate);
        go.set();
    });
    assert_eq!(results.into_inner().unwrap(), [true, true]);
}

pub(super) fn shutdown_put_join<Q: PyQueue<&'static str>>(immediate: bool) {
    let q = Q::make(2);
    let results = Mutex::new(Vec::new());
    let go = Event::new();
    q.put("Y").unwrap();
    thread::scope(|s| {
        s.spawn(|| put(&q, "E", &go, &results, true));
        s.spawn(|| join(&q, &results));
        // CPython: assertEqual(q.unfinished_tasks, 1); here the one item is still queued.
        assert_eq!(q.qsize(), 1);
        q.shutdown(immediate);
        go.set();
        if immediate {
            assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
        } else {
            assert_eq!(q.get(), Ok("Y"));
            q.task_done().unwrap();
        }
    });
    assert_eq!(results.into_inner().unwrap(), [true, true]);
}

pub(super) fn test_shutdown_get_task_done_join<Q: PyQueue<&'static str>>() {
    let q = Q::make(2);
    let results = Mutex::new(Vec::new());
    let go = Event::new();
    q.put("Y").unwrap();
    q.put("D").unwrap();
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| get_task_done(&q, &go, &results));
        }
        for _ in 0..2 {
            s.spawn(|| join(&q, &results));
        }
        go.set();
        q.shutdown(false);
    });
    assert_eq!(results.into_inner().unwrap(), [true; 4]);
}

pub(super) fn test_shutdown_pending_get<Q: PyQueue<&'static str>>() {
    let q = Q::make(0);
    let result = thread::scope(|s| {
        let t = s.spawn(|| q.get());
        q.shutdown(false);
        t.join().unwrap()
    });
    assert_eq!(result, Err(GetError::ShutDown));
}
