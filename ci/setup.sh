# Stage 0: install everything the other stages need. Idempotent and fast when all is there
# (each step first checks, then installs); every network step is retried once.
source ci/lib.sh

CROSS_TARGETS=(x86_64-pc-windows-gnu x86_64-pc-windows-msvc x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd)
APT_PACKAGES=(wine wine64 gcc-mingw-w64-x86-64)
status=0

# Stable: clippy, rustfmt and the cross targets (rustup answers "up to date" offline when present).
retry rustup component add clippy rustfmt || status=1
retry rustup target add "${CROSS_TARGETS[@]}" || status=1

# The pinned nightly with miri and rust-src (Miri's sysroot and -Zbuild-std build from rust-src).
if rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    echo "ci: $NIGHTLY already installed"
else
    retry rustup toolchain install "$NIGHTLY" --profile minimal --component miri,rust-src || status=1
fi
retry rustup component add --toolchain "$NIGHTLY" miri rust-src || status=1

# Debian's Wine 8 and the mingw-w64 cross compiler.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# python3 (ci/house_rules.py, ci/wine.sh) may come from elsewhere (pyenv): only its absence counts.
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
    echo "ci: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
        sudo=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    retry "${sudo[@]}" apt-get update -q || status=1
    retry "${sudo[@]}" apt-get install -y -q "${missing[@]}" || status=1
else
    echo "ci: ${APT_PACKAGES[*]} and python3 already installed"
fi

# All crates for every platform, so the later stages build offline from here on.
retry cargo fetch || status=1

echo "ci: toolchains after setup:"
rustc --version
rustup run "$NIGHTLY" rustc --version
rustup run "$NIGHTLY" cargo miri --version
wine --version 2>/dev/null || echo "wine: missing"
x86_64-w64-mingw32-gcc --version 2>/dev/null | head -n1 || echo "x86_64-w64-mingw32-gcc: missing"
((status == 0)) || note "some installs failed: see the log"
exit "$status"
