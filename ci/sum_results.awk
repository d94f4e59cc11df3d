# Sums libtest's closing lines ("test result: ok. 5 passed; 1 failed; ...") of its input and
# prints "passed failed". Used by ci/lib.sh and .ci/run.
/test result: (ok|FAILED)\. [0-9]+ passed; [0-9]+ failed;/ {
    for (i = 2; i <= NF; i++) {
        if ($(i) ~ /^passed;?$/) p += $(i - 1)
        if ($(i) ~ /^failed;?$/) f += $(i - 1)
    }
}
END { printf "%d %d\n", p, f }
