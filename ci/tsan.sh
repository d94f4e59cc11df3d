# Stage 6b: ThreadSanitizer on the primitives' tests and the sys tests: std rebuilt with
# -Zsanitizer=thread (-Zbuild-std, needs rust-src), in target/tsan. TSan reports fail the run.
source ci/lib.sh

TSAN_TESTS=(lock rlock semaphore bounded_semaphore event condition condition_as_rlock condvar barrier thread thread_stack thread_panic thread_process timer local module queue queue_cpython queue_stress builder_scope guards many_threads)
T=x86_64-unknown-linux-gnu

read -r -a tests <<<"$(existing_tests "${TSAN_TESTS[@]}")"
read -r -a flags <<<"$(test_flags "${tests[@]}")"
# `--cfg threadkit_tsan` lets a test scale itself down (tests/many_threads.rs: 1,000 threads, as
# TSan runs out of memory for the shadow of 10,000).
export RUSTFLAGS="-Zsanitizer=thread --cfg threadkit_tsan" RUSTDOCFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=target/tsan
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
status=0
counted cargo "+$NIGHTLY" test -Zbuild-std --target "$T" -p threadkit-sys --tests || { status=1; note "sys failed"; }
if ((${#tests[@]})); then
    # (The in-crate fork tests are skipped: TSan does not support threads after a fork.)
    counted cargo "+$NIGHTLY" test -Zbuild-std --target "$T" -p threadkit --lib "${flags[@]}" -- --skip a_fork_child ||
        { status=1; note "threadkit failed"; }
fi
exit "$status"
