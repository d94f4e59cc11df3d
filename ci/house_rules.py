#!/usr/bin/env python3
"""House rules no compiler checks (see /work/shared/STYLE.md), for the library code only.

In src/ and sys/src/ (code outside `#[cfg(test)]` items and outside comments; a file that is
only ever included as a test module, `#[cfg(..test..)] #[path = "f.rs"] mod m;`, is test code):
  - no blocking primitive from std: std::sync::{Mutex, RwLock, Condvar, Barrier, Once, OnceLock,
    LazyLock, mpsc}, std::thread::{spawn, park, sleep, Builder, scope};
  - no parking_lot;
  - no libc / windows(-sys) outside sys/ (the algorithms reach the OS only through sys).
Files over 400 lines are listed as a warning only.
Exit status 1 when a rule is broken; each hit is printed as file:line: rule: text.
"""
import pathlib
import re
import sys

FORBIDDEN_SYNC = r"Mutex|RwLock|Condvar|Barrier|Once|OnceLock|LazyLock|mpsc"
FORBIDDEN_THREAD = r"spawn|park|park_timeout|sleep|Builder|scope"
RULES = [
    ("std blocking primitive",
     re.compile(r"\bstd\s*::\s*sync\s*::\s*(\{[^}]*\b(" + FORBIDDEN_SYNC + r")\b|(" + FORBIDDEN_SYNC + r")\b)")),
    ("std thread function",
     re.compile(r"\bstd\s*::\s*thread\s*::\s*(\{[^}]*\b(" + FORBIDDEN_THREAD + r")\b|(" + FORBIDDEN_THREAD + r")\b)")),
    ("parking_lot", re.compile(r"\bparking_lot\b")),
]
# `use std::thread;` followed by `thread::spawn(..)`
STD_THREAD_IMPORTED = re.compile(r"\buse\s+std\s*::\s*(thread\s*;|thread\s*::\s*\{\s*self\b|\{[^}]*\bthread\b)")
BARE_THREAD = ("std thread function", re.compile(r"(?<![:\w])thread\s*::\s*(" + FORBIDDEN_THREAD + r")\b"))
OS_IN_SRC = ("OS API outside sys/", re.compile(r"\b(libc|windows_sys|windows)\s*::"))
MAX_LINES = 400


def strip_comments(text):
    """Blank out comments and string contents, keeping line numbers."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == '"':
            out.append('"')
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                if i < n and text[i] == "\n":
                    out.append("\n")
                i += 1
            out.append('"')
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_cfg_test(text):
    """Blank out items marked #[cfg(test)] (to the end of their braced block), keeping lines."""
    lines = text.split("\n")
    out, skipping, depth, started = [], False, 0, False
    for line in lines:
        if not skipping and re.match(r"\s*#\[cfg\((all\()?test\b", line):
            skipping, depth, started = True, 0, False
        if skipping:
            depth += line.count("{") - line.count("}")
            started = started or "{" in line or line.rstrip().endswith(";") and "mod " in line
            out.append("")
            if started and depth <= 0:
                skipping = False
            continue
        out.append(line)
    return "\n".join(out)


TEST_MODULE = re.compile(r'#\[cfg\((all\()?test\b[^\]]*\]\s*#\[path\s*=\s*"([^"]+)"\]\s*mod\s')


def test_module_files(files):
    """The files included only as `#[cfg(test)]` modules (through `#[path]`)."""
    found = set()
    for path in files:
        for m in TEST_MODULE.finditer(path.read_text(encoding="utf-8")):
            found.add((path.parent / m.group(2)).resolve())
    return found


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    bad = 0
    for base in ("src", "sys/src"):
        files = sorted((root / base).rglob("*.rs"))
        tests_only = test_module_files(files)
        for path in files:
            rel = path.relative_to(root)
            raw = path.read_text(encoding="utf-8")
            nlines = raw.count("\n")
            if nlines > MAX_LINES:
                print(f"{rel}: warning: {nlines} lines (aim under ~{MAX_LINES})")
            if path.resolve() in tests_only:
                continue
            code = drop_cfg_test(strip_comments(raw))
            rules = list(RULES)
            if STD_THREAD_IMPORTED.search(code):
                rules.append(BARE_THREAD)
            if base == "src" and path.name != "wait_loom.rs":
                rules.append(OS_IN_SRC)
            for name, rx in rules:
                # match across lines for `use std::sync::{\n Mutex, ...}`
                for m in rx.finditer(code):
                    line = code.count("\n", 0, m.start()) + 1
                    text = raw.split("\n")[line - 1].strip()
                    print(f"{rel}:{line}: {name}: {text}")
                    bad += 1
    if bad:
        print(f"house rules: {bad} violation(s)")
        return 1
    print("house rules: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
