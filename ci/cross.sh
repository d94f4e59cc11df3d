# Stage 3: clippy (which checks the code; warnings are errors) for the other supported OSes, all
# targets.
#
# No C toolchain exists here for macOS, MSVC or FreeBSD, yet a dev-dependency (criterion -> alloca)
# compiles C in its build script. Since this stage only checks (nothing is linked), such build
# scripts get ci/stub/cc and ci/stub/ar, which just create the files they are asked for.
# If a dependency (not our code) still cannot be built for a target, the stage falls back to --lib
# for it (dev-dependencies are needed by every test target) and says so in the summary line; an
# error in threadkit or threadkit-sys always fails the stage.
source ci/lib.sh

CROSS_TARGETS=(x86_64-pc-windows-gnu x86_64-pc-windows-msvc x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd)
STUB_CC_TARGETS=" x86_64-pc-windows-msvc x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd "
OUR_CRATES='threadkit|threadkit-sys'
status=0
fallbacks=()

# our_error LOG: true when the failure is in our own crates (or not attributable to a dependency).
our_error() {
    local crates
    crates=$(grep -oE '(could not compile|failed to run custom build command for) `[^` ]+' "$1" |
        sed 's/.*`//' | sort -u)
    [[ -z $crates ]] && return 0
    grep -qxE "$OUR_CRATES" <<<"$crates"
}

for t in "${CROSS_TARGETS[@]}"; do
    echo "---- $t"
    if [[ $STUB_CC_TARGETS == *" $t "* ]]; then
        use_stub_cc "$t"
    fi
    log=$(mktemp "$CI_OUT/out.XXXXXX")
    scope=(--workspace --all-targets)
    # clippy checks the code too: one pass per target.
    if ! run cargo clippy --keep-going "${scope[@]}" --target "$t" -- -D warnings 2>&1 | tee "$log"; then
        if our_error "$log"; then
            status=1
            note "$t: clippy failed"
            rm -f "$log"
            continue
        fi
        scope=(--workspace --lib)
        fallbacks+=("$t")
        echo "ci: a dependency does not build for $t: falling back to ${scope[*]}"
        run cargo clippy "${scope[@]}" --target "$t" -- -D warnings || { status=1; note "$t: clippy failed"; }
    fi
    rm -f "$log"
done
((${#fallbacks[@]})) && note "--lib only (a dependency fails) for: ${fallbacks[*]}"
((status == 0)) && note "${#CROSS_TARGETS[@]} targets"
exit "$status"
