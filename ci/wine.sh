# Stage 4: the unit and integration tests built for x86_64-pc-windows-gnu with mingw-w64 and run for
# real under Wine 8 (WaitOnAddress, CreateThread, ... as Wine implements them).
#
# - WINEPREFIX is target/wine (created once with `wineboot -i`, Mono/Gecko installs disabled).
# - Wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std needs: ci/wine/ builds a shim
#   with x86_64-w64-mingw32-gcc, copied into the prefix's system32 and forced native.
# - Each test executable runs from its package's directory (as `cargo test` would), under its own
#   timeout; libtest's closing lines give the counts. Doc-tests are not run here (host only).
source ci/lib.sh

T=x86_64-pc-windows-gnu
PER_EXE_TIMEOUT=${TK_WINE_EXE_TIMEOUT:-180}
export WINEPREFIX="$PWD/target/wine" WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
status=0

for tool in wine wineboot wineserver x86_64-w64-mingw32-gcc; do
    command -v "$tool" >/dev/null || { note "$tool missing (stage setup failed?)"; exit 1; }
done
echo "ci: $(wine --version), $(x86_64-w64-mingw32-gcc --version | head -n1)"

# Stop this prefix's wineserver however the stage ends, so nothing outlives it holding our stdout.
cleanup() { wineserver -k >/dev/null 2>&1 || true; }
trap cleanup EXIT

# 1. Build the tests (the compile errors, if any, are the interesting output).
json="$CI_OUT/wine-build.json"
echo "+ cargo test --workspace --target $T --no-run --message-format=json"
cargo test --workspace --target "$T" --no-run --message-format=json-render-diagnostics >"$json" ||
    { note "build for $T failed"; exit 1; }
mapfile -t exes < <(python3 - "$json" <<'PY'
import json, os, sys
for line in open(sys.argv[1]):
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["profile"]["test"]:
        print(os.path.dirname(msg["manifest_path"]) + "\t" + msg["executable"])
PY
)
echo "ci: ${#exes[@]} test executables"
((${#exes[@]})) || { note "no test executables found"; exit 1; }

# 2. The shim and the prefix.
mkdir -p "$CI_OUT/wine"
run x86_64-w64-mingw32-gcc -O2 -shared -s -o "$CI_OUT/wine/bcryptprimitives.dll" \
    ci/wine/bcryptprimitives.c ci/wine/bcryptprimitives.def -lbcrypt || { note "shim build failed"; exit 1; }
# A wineserver of our own that does not hold the stage's stdout open.
wineserver -p30 </dev/null >/dev/null 2>&1
if [[ ! -f $WINEPREFIX/system.reg ]]; then
    echo "+ wineboot -i (new prefix $WINEPREFIX)"
    timeout 300 wineboot -i </dev/null 2>&1 | tail -n 20
    wineserver -w
fi
sys32="$WINEPREFIX/drive_c/windows/system32"
[[ -d $sys32 ]] || { note "wineboot did not create $sys32"; exit 1; }
cp "$CI_OUT/wine/bcryptprimitives.dll" "$sys32/"

# 3. Run every test executable.
crashed=()
for entry in "${exes[@]}"; do
    dir=${entry%%$'\t'*}
    exe=${entry#*$'\t'}
    rel=${dir#"$PWD"}; echo "---- $(basename "$exe") (in ./${rel#/})"
    (cd "$dir" && counted timeout -k 10 "$PER_EXE_TIMEOUT" wine "$exe")
    rc=$?
    if ((rc == 124 || rc == 137)); then
        status=1
        crashed+=("$(basename "${exe%-*}") (timeout ${PER_EXE_TIMEOUT} s)")
    elif ((rc != 0)); then
        status=1
        crashed+=("$(basename "${exe%-*}") (exit $rc)")
    fi
done
((${#crashed[@]})) && note "failed executables: ${crashed[*]}"
note "${#exes[@]} executables"
exit "$status"
