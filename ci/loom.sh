# Stage 6a: the loom models, every tests/loom_*.rs (each starts with #![cfg(threadkit_loom)]), in release,
# in their own target dir so the normal build is kept.
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
counted env RUSTFLAGS="--cfg threadkit_loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}" \
    cargo test --release -p threadkit --lib "${flags[@]}"
