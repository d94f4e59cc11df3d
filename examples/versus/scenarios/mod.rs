//! Every scenario, in table order.

mod barriers;
mod conditions;
mod locks;
mod queue;
mod rlock;
mod signals;
mod sizes;
mod threads;
mod webkit;

/// Every timed scenario, in table order, freshly built (a contender makes its state when it
/// runs; building is cheap, so the whole list is built and then filtered).
pub fn all() -> Vec<crate::harness::Scenario> {
    let mut all = vec![
        locks::lock_uncontended(),
        locks::lock_2_threads(),
        locks::lock_2_threads_unpinned(),
        locks::lock_4_threads(),
        locks::lock_random_2(),
        locks::lock_random_64(),
        locks::mutex_uncontended(),
        locks::mutex_2_threads(),
        locks::mutex_2_threads_unpinned(),
        locks::scaling_1(),
        locks::scaling_2(),
        locks::scaling_4(),
        locks::scaling_8(),
        locks::scaling_16(),
        rlock::rlock_reentry(),
        signals::semaphore_uncontended(),
        signals::semaphore_ping_pong(),
        signals::semaphore_ping_pong_unpinned(),
        signals::event_ping_pong(),
        signals::event_ping_pong_unpinned(),
        conditions::condition_ping_pong(),
        conditions::condition_ping_pong_unpinned(),
        conditions::condvar_ping_pong(),
        conditions::condvar_ping_pong_unpinned(),
        webkit::webkit_1p_10c(),
        webkit::webkit_10p_1c(),
        webkit::webkit_1p_1c(),
        conditions::notify_all_herd(),
        barriers::barrier_2(),
        barriers::barrier_4(),
        signals::ring_events(),
        conditions::ring_conditions(),
        threads::thread_small_stack(),
        threads::thread_default_stack(),
        threads::local_access(),
    ];
    all.extend(queue::rows());
    all
}

/// The `size_of` rows (not timed).
pub fn sizes() -> Vec<crate::harness::Row> {
    sizes::rows()
}

/// One fixed run of the webkit queue (see `webkit::once`).
pub fn webkit_once(
    library: &str,
    producers: usize,
    consumers: usize,
    items: u64,
) -> Option<(f64, u64)> {
    webkit::once(library, producers, consumers, items)
}
