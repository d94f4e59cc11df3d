# Stage 6a: the loom models, every tests/loom_*.rs (each starts with #![cfg(threadkit_loom)]) and
# the library's own loom tests, in release, in their own target dir so the normal build is kept.
#
# Built once, then the test executables run two at a time, the longest first: one binary's
# last model often runs alone on one thread for minutes (the library's hand-over model, about
# 250 s here), and the other CPU takes the next binaries meanwhile.
source ci/lib.sh

shopt -s nullglob
models=(tests/loom_*.rs)
if ((${#models[@]} == 0)); then
    note "no tests/loom_*.rs yet"
    exit 0
fi
flags=()
for f in "${models[@]}"; do
    name=$(basename "$f" .rs)
    flags+=(--test "$name")
done
note "${#models[@]} model files"
export RUSTFLAGS="--cfg threadkit_loom" CARGO_TARGET_DIR=target/loom
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"

build_log="$CI_OUT/loom.build"
run cargo test --release -p threadkit --lib "${flags[@]}" --no-run 2>&1 | tee "$build_log"
((PIPESTATUS[0] == 0)) || { note "build failed"; exit 1; }
# Longest first (their times on this 2-CPU machine: lib 285-337 s, loom_semaphore 170-187 s,
# loom_queue 125-148 s, loom_condition 46-54 s, the rest under 17 s each).
rank() {
    case $1 in
        *src/lib.rs) echo 0 ;;
        *loom_semaphore.rs) echo 1 ;;
        *loom_queue.rs) echo 2 ;;
        *loom_condition.rs) echo 3 ;;
        *) echo 4 ;;
    esac
}
# "  Executable unittests src/lib.rs (target/loom/release/deps/threadkit-...)" -> "NAME|PATH",
# ranked, in rank order (a stable sort keeps cargo's order within a rank).
bins=() names=()
while IFS='|' read -r _ name bin; do
    names+=("$name")
    bins+=("$bin")
done < <(sed -n 's/^ *Executable \(.*\) (\(.*\))$/\1|\2/p' "$build_log" |
    while IFS= read -r entry; do echo "$(rank "${entry%%|*}")|$entry"; done |
    sort -s -t'|' -k1,1n)
rm -f "$build_log"
if ((${#bins[@]} != ${#models[@]} + 1)); then
    note "expected $((${#models[@]} + 1)) test executables, the build listed ${#bins[@]}"
    exit 1
fi

# Each log is named like `counted`'s, so that .ci/run counts it if the stage is killed.
logs=()
for i in "${!bins[@]}"; do
    while (($(jobs -rp | wc -l) >= 2)); do wait -n; done
    logs[i]=$(mktemp "$CI_OUT/out.$CI_STAGE.XXXXXX")
    echo "+ [${SECONDS} s] ${names[i]}: ${bins[i]}"
    ("${bins[i]}" >"${logs[i]}" 2>&1; echo $? >"$CI_OUT/loom.rc.$i") &
done
wait
status=0
for i in "${!bins[@]}"; do
    rc=$(cat "$CI_OUT/loom.rc.$i" 2>/dev/null || echo "lost")
    rm -f "$CI_OUT/loom.rc.$i"
    echo "---- ${names[i]} (exit $rc)"
    cat "${logs[i]}"
    read -r p f < <(sum_results "${logs[i]}")
    add_counts "$p" "$f"
    failed_names "${logs[i]}"
    rm -f "${logs[i]}"
    [[ $rc == 0 ]] || status=1
done
echo "+ [${SECONDS} s] done"
exit "$status"
