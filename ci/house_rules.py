#!/usr/bin/env python3
"""House rules no compiler checks (see /work/shared/STYLE.md and docs/architecture.md).

In src/ and sys/src/ (code outside `#[cfg(test)]` items and outside comments; a file that is
only ever included as a test module, `#[cfg(..test..)] mod m;`, is test code):
  - no blocking primitive from std: std::sync::{Mutex, RwLock, Condvar, Barrier, Once, OnceLock,
    LazyLock, mpsc}, std::thread::{spawn, park, sleep, Builder, scope};
  - no parking_lot;
  - no libc / windows(-sys) outside sys/ (the algorithms reach the OS only through sys).
The layout (issue 11), in src/ (test modules included):
  - the dependency direction is thread -> sync -> rt -> threadkit_sys: nothing in src/sync/
    names `crate::thread` or an item that lib.rs re-exports from the thread layer
    (`crate::Thread`, ...); only src/rt/ names `threadkit_sys`;
  - no `#[path]` (the folders are the module tree) and no `target_os` (platform code is chosen
    per file in sys/);
  - lib.rs and the layers' mod.rs files re-export by name: no `pub use ...::*`;
  - loom models (`loom::model`) live in tests/loom_*.rs, or, when they need crate internals,
    in a `loom_tests.rs` beside their primitive.
File sizes: src/ and sys/src/ files at most 400 lines, test files (tests/, sys/tests/) at most
600, except the files in SIZE_ALLOWED (each with its reason).
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
MAX_TEST_LINES = 600
# Over the limit, with the reason. Keep this list short, and empty it when you can.
SIZE_ALLOWED = {}
SYNC_IMPORTS_THREAD = ("sync imports the thread layer", re.compile(r"\bcrate\s*::\s*thread\b"))
SYS_OUTSIDE_RT = ("threadkit_sys outside src/rt/", re.compile(r"\bthreadkit_sys\b"))
PATH_ATTR = ("#[path] in src/", re.compile(r"#\s*\[\s*path\s*="))
TARGET_OS = ("target_os outside sys/", re.compile(r"\btarget_os\b"))
GLOB_PUB_USE = ("glob re-export", re.compile(r"\bpub\s+use\s+[^;]*\*\s*;"))
LOOM_MODEL = ("loom model outside tests/loom_*.rs and */loom_tests.rs", re.compile(r"\bloom\s*::\s*model\b"))
NO_GLOB_FILES = {"src/lib.rs", "src/rt/mod.rs", "src/sync/mod.rs", "src/thread/mod.rs"}


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


TEST_MODULE = re.compile(r"#\[cfg\((all\()?test\b[^\]]*\]\s*mod\s+(\w+)\s*;")


def test_module_files(files):
    """The files included only as `#[cfg(test)]` modules (`#[cfg(test)] mod tests;`)."""
    found = set()
    for path in files:
        here = path.parent if path.name in ("mod.rs", "lib.rs") else path.parent / path.stem
        for m in TEST_MODULE.finditer(path.read_text(encoding="utf-8")):
            for f in (here / (m.group(2) + ".rs"), here / m.group(2) / "mod.rs"):
                found.add(f.resolve())
    return found


def thread_names(root):
    """The names lib.rs re-exports from the thread layer (`pub use thread::{..}`)."""
    lib = strip_comments((root / "src/lib.rs").read_text(encoding="utf-8"))
    names = set()
    for m in re.finditer(r"pub\s+use\s+thread\s*::\s*(\{[^}]*\}|\w+)", lib):
        names.update(re.findall(r"\w+", m.group(1)))
    return names


def layout_rules(root, base, rel):
    """The rules of the layout (see the module docs) that apply to one file of src/."""
    rules = [PATH_ATTR, TARGET_OS]
    parts = rel.parts
    if base == "src" and not (len(parts) > 1 and parts[1] == "rt"):
        rules.append(SYS_OUTSIDE_RT)
    if base == "src" and len(parts) > 1 and parts[1] == "sync":
        rules.append(SYNC_IMPORTS_THREAD)
        names = thread_names(root)
        if names:
            alt = "|".join(sorted(names))
            rules.append(("sync names a thread-layer item", re.compile(
                r"\bcrate\s*::\s*(\{[^}]*\b(" + alt + r")\b[^}]*\}|(" + alt + r")\b)")))
    if rel.as_posix() in NO_GLOB_FILES:
        rules.append(GLOB_PUB_USE)
    if not rel.name == "loom_tests.rs":
        rules.append(LOOM_MODEL)
    return rules


def check(rel, raw, code, rules):
    bad = 0
    for name, rx in rules:
        # match across lines for `use std::sync::{\n Mutex, ...}`
        for m in rx.finditer(code):
            line = code.count("\n", 0, m.start()) + 1
            text = raw.split("\n")[line - 1].strip()
            print(f"{rel}:{line}: {name}: {text}")
            bad += 1
    return bad


def size_check(rel, nlines, limit):
    key = rel.as_posix()
    if nlines <= limit:
        if key in SIZE_ALLOWED:
            print(f"{rel}: note: {nlines} lines, under {limit}: take it off SIZE_ALLOWED")
        return 0
    if key in SIZE_ALLOWED:
        print(f"{rel}: warning: {nlines} lines (allowed: {SIZE_ALLOWED[key]})")
        return 0
    print(f"{rel}: {nlines} lines: over the limit of {limit} (split it by concept)")
    return 1


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    bad = 0
    for base in ("src", "sys/src"):
        files = sorted((root / base).rglob("*.rs"))
        tests_only = test_module_files(files)
        for path in files:
            rel = path.relative_to(root)
            raw = path.read_text(encoding="utf-8")
            bad += size_check(rel, raw.count("\n"), MAX_LINES)
            stripped = strip_comments(raw)
            test_only = path.resolve() in tests_only
            if base == "src":
                bad += check(rel, raw, stripped, layout_rules(root, base, rel))
            if test_only:
                continue
            code = drop_cfg_test(stripped)
            rules = list(RULES)
            if STD_THREAD_IMPORTED.search(code):
                rules.append(BARE_THREAD)
            if base == "src" and rel.as_posix() != "src/rt/model.rs":
                rules.append(OS_IN_SRC)
            bad += check(rel, raw, code, rules)
    for base in ("tests", "sys/tests"):
        for path in sorted((root / base).rglob("*.rs")):
            rel = path.relative_to(root)
            raw = path.read_text(encoding="utf-8")
            bad += size_check(rel, raw.count("\n"), MAX_TEST_LINES)
            if not (path.parent == root / "tests" and path.name.startswith("loom_")):
                bad += check(rel, raw, strip_comments(raw), [LOOM_MODEL])
    if (root / "tests/support").exists():
        print("tests/support/: test helpers live in tests/common/")
        bad += 1
    if bad:
        print(f"house rules: {bad} violation(s)")
        return 1
    print("house rules: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
