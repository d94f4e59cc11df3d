# Stage 2: the README's test command on the host, all test binaries even after a failure.
source ci/lib.sh
counted cargo test --workspace --no-fail-fast
