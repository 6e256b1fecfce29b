#!/usr/bin/env python3
"""Which files of a build context a .dockerignore admits, matched as BuildKit matches them.

    git ls-files -z | .github/scripts/dockerignore.py CONTEXT IGNORE_FILE

Reads NUL-separated paths (relative to the current directory, inside CONTEXT) on stdin
and writes back, NUL-separated, those the ignore file admits. IGNORE_FILE may be empty
(no ignore file: everything is admitted).

The rules are moby's patternmatcher (what BuildKit uses): one pattern a line, `#` lines
are comments, each pattern is cleaned (`./a/` is `a`, a leading `/` is dropped); `*`
matches within one path segment, `?` one character, `**` any number of segments; a
pattern that matches a directory matches everything under it; `!` re-admits; the last
pattern that matches a path decides. Used by image-epoch.sh; tested by
test-image-epoch.sh.
"""

import os
import posixpath
import re
import sys


def compile_pattern(pattern: str) -> re.Pattern:
    regex, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1 : i + 2] == "*":
                i += 1
                if pattern[i + 1 : i + 2] == "/":
                    i += 1
                regex += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                regex += "[^/]*"
        elif ch == "?":
            regex += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            regex += re.escape(pattern[i])
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                regex += re.escape(ch)
            else:
                body = pattern[i + 1 : end]
                regex += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
                i = end
        else:
            regex += re.escape(ch)
        i += 1
    return re.compile(regex + "$")


def read_patterns(path: str) -> list[tuple[bool, re.Pattern]]:
    patterns = []
    if not path:
        return patterns
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            exclusion = line.startswith("!")
            if exclusion:
                line = line[1:].strip()
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
            patterns.append((exclusion, compile_pattern(line)))
    return patterns


def excluded(path: str, patterns: list[tuple[bool, re.Pattern]]) -> bool:
    parts = path.split("/")
    parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
    matched = False
    for exclusion, regex in patterns:
        # An inclusion only matters once excluded, an exclusion only once included.
        if exclusion != matched:
            continue
        if regex.match(path) or any(regex.match(p) for p in parents):
            matched = not exclusion
    return matched


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: git ls-files -z | dockerignore.py CONTEXT IGNORE_FILE", file=sys.stderr)
        return 2
    context, ignore = sys.argv[1], sys.argv[2]
    patterns = read_patterns(ignore)
    out = []
    for path in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\0"):
        if not path:
            continue
        relative = os.path.relpath(path, context).replace(os.sep, "/")
        if relative.startswith("../"):
            continue
        if not excluded(relative, patterns):
            out.append(path)
    sys.stdout.buffer.write("".join(p + "\0" for p in out).encode("utf-8", "surrogateescape"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
