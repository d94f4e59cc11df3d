# shellcheck shell=bash
# Shared helpers for the stage scripts in ci/. Sourced, never run.
#
# Each stage script runs with the repository root as its working directory and these variables:
#   CI_OUT    a scratch directory (target/ci) for logs, counts and notes
#   CI_STAGE  the stage's short name (lint, test, cross, wine, miri, loom, tsan)
# A stage reports through three channels that .ci/run reads after the script exits:
#   its exit status (0 = ok), "$CI_OUT/$CI_STAGE.counts" (passed failed, summed by `counted`)
#   and "$CI_OUT/$CI_STAGE.note" (short remarks for the summary line, added by `note`).

set -uo pipefail

# The pinned nightly for Miri and ThreadSanitizer (-Zbuild-std). Pinned so that a new nightly
# cannot change Miri's flags or break build-std between two runs; bump it deliberately.
NIGHTLY="${TK_NIGHTLY:-nightly-2026-10-29}"

: "${CI_OUT:?run stages through .ci/run}"
: "${CI_ROOT:?run stages through .ci/run}"
: "${CI_STAGE:?run stages through .ci/run}"

# Print a command, then run it.
run() {
    echo "+ [${SECONDS} s] $*"
    "$@"
}

# Run a command; if it fails, wait a little and run it once more (for network steps).
retry() {
    echo "+ [${SECONDS} s] $*"
    "$@" && return 0
    echo "ci: '$*' failed; retrying once in 15 s"
    sleep 15
    "$@"
}

# Add a short remark to this stage's summary line.
note() {
    echo "ci note: $*" >&2
    printf '%s\n' "$*" >>"$CI_OUT/$CI_STAGE.note"
}

# Add "passed failed" to this stage's counts.
add_counts() {
    local p=0 f=0
    if [[ -f "$CI_OUT/$CI_STAGE.counts" ]]; then
        read -r p f <"$CI_OUT/$CI_STAGE.counts"
    fi
    echo "$((p + $1)) $((f + $2))" >"$CI_OUT/$CI_STAGE.counts"
}

# Sum the libtest closing lines ("test result: ok. 5 passed; 1 failed; ...") of a log file.
sum_results() {
    awk -f "$CI_ROOT/ci/sum_results.awk" "$1"
}

# Run a test command (printing its output) and add its libtest totals to this stage's counts.
# Returns the command's exit status.
counted() {
    local tmp rc p f
    # Named after the stage: if the stage is killed by its timeout, .ci/run still reads it.
    tmp=$(mktemp "$CI_OUT/out.$CI_STAGE.XXXXXX")
    echo "+ [${SECONDS} s] $*"
    "$@" 2>&1 | tee "$tmp"
    rc=${PIPESTATUS[0]}
    read -r p f < <(sum_results "$tmp")
    add_counts "$p" "$f"
    echo "ci: that command: exit $rc, $p passed, $f failed"
    failed_names "$tmp"
    rm -f "$tmp"
    return "$rc"
}

# Names of the integration test files (tests/NAME.rs) of the root package that exist, from a list.
# Missing ones are noted once, so a test file that is not written yet is visible, not silent.
existing_tests() {
    local name have=() missing=()
    for name in "$@"; do
        if [[ -f "tests/$name.rs" ]]; then have+=("$name"); else missing+=("$name"); fi
    done
    if ((${#missing[@]})); then
        note "not yet present: ${missing[*]}"
    fi
    echo "${have[*]}"
}

# Note the names of the tests a libtest log reports as FAILED (at most 6).
failed_names() {
    local names
    names=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$1" | sort -u)
    [[ -z $names ]] && return 0
    note "FAILED: $(head -n 6 <<<"$names" | paste -sd' ')$( (($(wc -l <<<"$names") > 6)) && echo ' ...')"
}

# For a target with no C toolchain here (MSVC, macOS, FreeBSD), point the build scripts of
# dependencies that compile C (criterion -> alloca) at ci/stub/{cc,ar}, which only create the files
# asked for. Right only where nothing is linked or called from them: cargo check/clippy, Miri.
use_stub_cc() {
    local tt=${1//-/_}
    export "CC_$tt=$CI_ROOT/ci/stub/cc" "AR_$tt=$CI_ROOT/ci/stub/ar"
}

# "--test a --test b" for a list of names.
test_flags() {
    local name
    for name in "$@"; do printf -- '--test %s ' "$name"; done
}
