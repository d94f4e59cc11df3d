# Stage 1: formatting, clippy (all targets, warnings are errors), rustdoc (warnings are errors)
# and the house rules of BRIEF/STYLE that no compiler checks.
source ci/lib.sh
status=0

run cargo fmt --all --check -- --color=never || { status=1; note "cargo fmt --check failed (run cargo fmt)"; }
run cargo clippy --workspace --all-targets -- -D warnings || { status=1; note "clippy failed"; }
RUSTDOCFLAGS=-Dwarnings run cargo doc --workspace --no-deps || { status=1; note "rustdoc failed"; }
run python3 ci/house_rules.py || { status=1; note "house rules failed"; }
exit "$status"
