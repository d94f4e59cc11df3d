# Stage 5: Miri on the real backends of each OS (Miri emulates futex, WaitOnAddress, ulock/os_sync,
# _umtx_op and the thread APIs): the sys crate's tests and the primitives' test files below.
#
# MIRI_TESTS lists tests/NAME.rs files of the root package; a name whose file does not exist yet is
# skipped with a note. Tests keep their iteration counts small under cfg(miri) themselves.
# Then Linux and macOS run the sys futex tests and MIRI_SEED_TESTS under several schedules
# (-Zmiri-many-seeds), whose interleaved output is judged by exit status only (not counted).
source ci/lib.sh

MIRI_TARGETS=(x86_64-unknown-linux-gnu x86_64-pc-windows-msvc aarch64-apple-darwin x86_64-unknown-freebsd)
MIRI_TESTS=(lock rlock semaphore bounded_semaphore event condition condition_as_rlock condvar barrier thread thread_stack thread_panic thread_process timer local module queue queue_cpython queue_stress queue_ring queue_list builder_scope guards)
MIRI_SEED_TESTS=(lock rlock semaphore bounded_semaphore event condition condition_as_rlock condvar barrier queue)
MIRI_SEEDS=${TK_MIRI_SEEDS:-0..4}
PER_RUN_TIMEOUT=${TK_MIRI_RUN_TIMEOUT:-600}
export MIRIFLAGS="${MIRIFLAGS:-}"
# Miri's sysroots of this pinned nightly, apart from those of any other nightly on the machine
# (cargo-miri keeps them in $XDG_CACHE_HOME/miri and rebuilds them when the toolchain differs,
# which races when two toolchains share one directory).
export XDG_CACHE_HOME="${TK_MIRI_CACHE:-$HOME/.cache/threadkit-ci/$NIGHTLY}"
status=0

read -r -a tests <<<"$(existing_tests "${MIRI_TESTS[@]}")"
read -r -a flags <<<"$(test_flags "${tests[@]}")"
seed_tests=()
for name in "${MIRI_SEED_TESTS[@]}"; do
    [[ -f tests/$name.rs ]] && seed_tests+=("$name")
done
read -r -a seed_flags <<<"$(test_flags "${seed_tests[@]}")"
echo "ci: miri tests: sys (lib + tests), threadkit lib${tests:+ + ${tests[*]}}; seeds $MIRI_SEEDS on ${seed_tests[*]:-nothing yet}"

miri() { timeout -k 10 "$PER_RUN_TIMEOUT" cargo "+$NIGHTLY" miri "$@"; }

# One lane runs its targets one after the other, in its own target dir (cargo locks a target dir
# for a whole build). Miri interprets on one core, so two lanes keep a 2-core machine busy.
lane() {
    local t st=0
    export CARGO_TARGET_DIR="$CI_ROOT/target/miri-${CI_STAGE#miri.}"
    for t in "$@"; do
        echo "---- $t"
        [[ $t == x86_64-unknown-linux-gnu ]] || use_stub_cc "$t"
        # Builds Miri's sysroot for the target (cached, see above); fetches std's deps once.
        retry cargo "+$NIGHTLY" miri setup --target "$t" || { st=1; note "$t: miri setup failed"; continue; }
        counted miri test --no-fail-fast --target "$t" -p threadkit-sys --lib --tests || { st=1; note "$t: sys failed"; }
        counted miri test --no-fail-fast --target "$t" -p threadkit --lib "${flags[@]}" || { st=1; note "$t: threadkit failed"; }
    done
    return "$st"
}

half=$(((${#MIRI_TARGETS[@]} + 1) / 2))
CI_STAGE=miri.a lane "${MIRI_TARGETS[@]:0:half}" >"$CI_OUT/miri.a.log" 2>&1 &
pid_a=$!
CI_STAGE=miri.b lane "${MIRI_TARGETS[@]:half}" >"$CI_OUT/miri.b.log" 2>&1 &
pid_b=$!
echo "ci: lanes: a = ${MIRI_TARGETS[*]:0:half} (pid $pid_a), b = ${MIRI_TARGETS[*]:half} (pid $pid_b); their logs follow when both end"
wait "$pid_a" || status=1
wait "$pid_b" || status=1
for l in a b; do
    echo "======== miri lane $l"
    cat "$CI_OUT/miri.$l.log"
    if [[ -f $CI_OUT/miri.$l.counts ]]; then
        read -r p f <"$CI_OUT/miri.$l.counts"
        add_counts "$p" "$f"
    fi
    [[ -f $CI_OUT/miri.$l.note ]] && cat "$CI_OUT/miri.$l.note" >>"$CI_OUT/$CI_STAGE.note"
    rm -f "$CI_OUT/miri.$l".*
done

# Several schedules (-Zmiri-many-seeds) of the concurrency tests: the sys futex tests and the
# primitives' files, on Linux and on macOS (whose wake path orders itself with a fence, see
# sys/src/futex/macos.rs), one target per lane, in parallel.
seeded() {
    local t=$1 lane=$2
    echo "---- $t, seeds $MIRI_SEEDS: sys futex; ${seed_tests[*]}"
    [[ $t == x86_64-unknown-linux-gnu ]] || use_stub_cc "$t"
    export CARGO_TARGET_DIR="$CI_ROOT/target/miri-$lane" MIRIFLAGS="$MIRIFLAGS -Zmiri-many-seeds=$MIRI_SEEDS"
    run miri test --target "$t" -p threadkit-sys --test futex &&
        run miri test --target "$t" -p threadkit "${seed_flags[@]}"
}
SEED_TARGETS=(x86_64-unknown-linux-gnu aarch64-apple-darwin)
seeded "${SEED_TARGETS[0]}" a >"$CI_OUT/seeds.a.log" 2>&1 &
pid_a=$!
seeded "${SEED_TARGETS[1]}" b >"$CI_OUT/seeds.b.log" 2>&1 &
pid_b=$!
seed_status=0
wait "$pid_a" || seed_status=1
wait "$pid_b" || seed_status=1
cat "$CI_OUT/seeds.a.log" "$CI_OUT/seeds.b.log"
rm -f "$CI_OUT"/seeds.*.log
if ((seed_status == 0)); then
    note "seeds $MIRI_SEEDS ok on sys futex + ${#seed_tests[@]} files, ${SEED_TARGETS[*]}"
else
    status=1
    note "seeds $MIRI_SEEDS FAILED (${SEED_TARGETS[*]})"
fi
note "${#MIRI_TARGETS[@]} targets"
exit "$status"
