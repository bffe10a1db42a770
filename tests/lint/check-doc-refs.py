#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails on a reference that does not resolve inside the repository (doc/style.md §8).

Checked in every text file of the source tree:
- a name ending in `.md` (`doc/protocol.md`, `README.md`, a markdown link) must be a file,
  relative to the citing file's folder or to the top of the tree;
- a section sign `§N` or `§N.M` must name a numbered heading (`## N.` / `### N.M`) of the
  document named before it on the line, else the one named last before it in the file;
  in doc/ a bare `§N` is the document's own section;
- a markdown link to a relative path must point at an existing file;
- a section sign right after a bare upper-case word names no file of the tree: an error.
Usage: check-doc-refs.py SOURCE_ROOT
"""
import os
import re
import sys

SKIP_DIRS = {".git", "node_modules", "subprojects", "__pycache__"}
TEXT_EXT = {".c", ".h", ".md", ".py", ".sh", ".js", ".build", ".txt", ".in", ".1", ".5", ".8",
            ".example", ".rules", ".service", ".socket", ".sysusers", ".tmpfiles", ".conf",
            ".json", ".options"}
# A .md path that does not start inside a URL or another path.
MD_REF = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
# An upper-case word right before a section sign: a document named without a path.
BARE_NAME = re.compile(r"\b([A-Z][A-Z_]{3,})\s+§")
HEADING = re.compile(r"^#+\s+(\d+(?:\.\d+)*)\.?\s")


def text_files(top):
    for d, dirs, files in os.walk(top):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith("build"))
        for f in sorted(files):
            if f.startswith("check-doc-refs"):
                continue  # this checker and its self-test quote broken references on purpose
            ext = os.path.splitext(f)[1]
            if ext in TEXT_EXT or f in ("meson.build", "meson_options.txt", "install-deps",
                                        "run-all", "run"):
                yield os.path.join(d, f)


def resolve(top, citing, ref):
    for base in (os.path.dirname(citing), top):
        p = os.path.normpath(os.path.join(base, ref))
        if os.path.isfile(p) and p.startswith(top):
            return p
    return None


_sections = {}


def sections(path):
    if path not in _sections:
        found = set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = HEADING.match(line)
                if m:
                    found.add(m.group(1))
        _sections[path] = found
    return _sections[path]


def check_file(top, path, errors):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError:
        return
    rel = os.path.relpath(path, top)
    is_md = rel.endswith(".md")
    is_doc = is_md and rel.startswith("doc" + os.sep)
    in_fence = False
    current = path if is_doc else None
    for no, line in enumerate(lines, 1):
        if is_md and line.startswith("```"):
            in_fence = not in_fence
        where = f"{rel}:{no}"
        # Every reference on the line, in order: documents switch the current one.
        events = [(m.start(), "doc", m.group(1)) for m in MD_REF.finditer(line)]
        events += [(m.start(), "sec", m.group(1)) for m in SECTION.finditer(line)]
        if is_md and not in_fence:
            events += [(m.start(), "link", m.group(1)) for m in LINK.finditer(line)]
        for m in BARE_NAME.finditer(line):
            errors.append(f"{where}: {m.group(1)} is not a document in the repository")
        line_doc = None
        for _, kind, val in sorted(events):
            if kind == "doc":
                p = resolve(top, path, val)
                if not p:
                    errors.append(f"{where}: {val} is not a file in the repository")
                line_doc = p
                if not is_doc:
                    current = p or current
            elif kind == "link":
                target = val.split("#", 1)[0]
                if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue
                if not resolve(top, path, target) and not os.path.isdir(
                        os.path.join(os.path.dirname(path), target)):
                    errors.append(f"{where}: link to {val}: no such file")
            else:
                doc = line_doc or current
                if doc is None:
                    errors.append(f"{where}: §{val} follows no document name (cite doc/<name> §{val})")
                elif not doc.endswith(".md"):
                    continue
                elif val not in sections(doc):
                    errors.append(f"{where}: {os.path.relpath(doc, top)} has no section {val}")


def main():
    top = os.path.realpath(sys.argv[1])
    errors = []
    n = 0
    for path in text_files(top):
        n += 1
        check_file(top, os.path.realpath(path), errors)
    for e in errors:
        print(e)
    if errors:
        print(f"{len(errors)} unresolved reference(s)")
        return 1
    print(f"every reference in {n} files resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
