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
# "  Executable unittests src/lib.rs (target/loom/release/deps/threadkit-...)"
mapfile -t found < <(sed -n 's/^ *Executable \(.*\) (\(.*\))$/\1|\2/p' "$build_log")
rm -f "$build_log"
# Longest first (their times on this 2-CPU machine: lib 285 s, loom_semaphore 170 s, loom_queue
# 125 s, loom_condition 46 s, the rest under 15 s each).
order=("src/lib.rs" tests/loom_semaphore.rs tests/loom_queue.rs tests/loom_condition.rs)
bins=() names=()
for want in "${order[@]}"; do
    for entry in "${found[@]}"; do
        [[ ${entry%%|*} == *"$want" ]] && { names+=("${entry%%|*}"); bins+=("${entry#*|}"); }
    done
done
for entry in "${found[@]}"; do
    [[ " ${names[*]} " == *" ${entry%%|*} "* ]] || { names+=("${entry%%|*}"); bins+=("${entry#*|}"); }
done
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
