//! Every scenario, in table order. A module is listed here once the primitives it needs have
//! landed on main (the branch compiles at every commit).

// LANDED: extend as primitives land on main.
mod locks;

/// A scenario constructor: builds its contenders (and their state) when selected.
pub type Build = fn() -> crate::harness::Scenario;

/// Every timed scenario, in table order.
pub fn all() -> Vec<Build> {
    vec![
        locks::lock_uncontended,
        locks::lock_2_threads,
        locks::lock_4_threads,
        locks::lock_random_2,
        locks::lock_random_64,
        locks::mutex_uncontended,
        locks::mutex_2_threads,
    ]
}

/// The `size_of` rows (not timed).
pub fn sizes() -> Vec<crate::harness::Row> {
    Vec::new()
}
