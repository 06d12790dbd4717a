#!/usr/bin/python3
"""The allowed include directions between src/'s folders — one table, checked here and drawn from here.

    check_includes.py SRC_DIR               exit 1 naming every forbidden #include (file:line: what, why)
    check_includes.py SRC_DIR --table       print the table as docs/ARCHITECTURE.md shows it
    check_includes.py SRC_DIR --docs FILE   exit 1 unless FILE holds the table exactly as --table prints it

A folder may always include itself. backends/<name>/ may include backends/backend.hpp (the table's
interface) but never another backend's folder; the backends/ folder itself (the table) includes them all.
"""
import os
import re
import sys

# folder -> what it may include (besides itself). The one table.
ALLOWED = {
    "cli": ["backends", "image", "report", "job", "agent", "storage", "qe", "aws", "core"],
    "backends": ["job", "storage", "qe", "core"],
    "backends/awsbatch": ["job", "storage", "qe", "aws", "core"],
    "agent": ["job", "storage", "qe", "core"],
    "image": ["aws", "core"],
    "job": ["storage", "qe", "core"],
    "storage": ["aws", "core"],
    "aws": ["core"],
    "qe": ["core"],
    "report": ["core"],
    "core": [],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(rel):
    """The folder a path below src/ belongs to: backends/<name> for a backend's files, else the top folder."""
    parts = rel.split("/")
    if parts[0] == "backends" and len(parts) > 2:
        return "backends/" + parts[1]
    return parts[0]


def row_of(folder):
    """What a folder may include: its own row, or for a backend without one, the backends' row."""
    if folder in ALLOWED:
        return ALLOWED[folder]
    return ALLOWED["backends"] if folder.startswith("backends/") else None


def allowed(src_rel, target):
    src, tgt = folder_of(src_rel), folder_of(target)
    if tgt == src:
        return True
    if src == "backends" and tgt.startswith("backends"):
        return True  # the table includes every backend
    if src.startswith("backends"):
        if target == "backends/backend.hpp":
            return True
        if tgt.startswith("backends"):
            return False  # never another backend
        return tgt in row_of(src)
    row = row_of(src)
    if row is None:
        return False
    top = tgt.split("/")[0]
    return top in row


def violations(src_dir):
    out = []
    for root, _, files in os.walk(src_dir):
        for name in sorted(files):
            if not name.endswith((".cpp", ".hpp", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src_dir)
            if row_of(folder_of(rel)) is None:
                out.append(f"{path}:1: src/{rel.split('/')[0]}/ is not in the include table (tools/check_includes.py)")
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m or "/" not in m.group(1):
                        continue
                    target = m.group(1)
                    if not os.path.exists(os.path.join(src_dir, target)):
                        continue  # a test or generated header; not a folder of src/
                    if not allowed(rel, target):
                        src = folder_of(rel)
                        row = row_of(src)
                        out.append(f"{path}:{n}: src/{src}/ may not include \"{target}\" "
                                   f"(it may include: {', '.join(row) or 'nothing outside itself'}"
                                   f"{'; never another backend' if src.startswith('backends') else ''})")
    return out


def table():
    lines = []
    for folder, row in ALLOWED.items():
        lines.append(f"{folder:<18} → {', '.join(row) if row else '(std, system and Debian libraries only)'}")
    return "\n".join(lines)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    src_dir = sys.argv[1]
    if "--table" in sys.argv:
        print(table())
        return 0
    if "--docs" in sys.argv:
        doc = open(sys.argv[sys.argv.index("--docs") + 1], encoding="utf-8").read()
        if table() not in doc:
            print(f"{sys.argv[-1]} does not show the include table as tools/check_includes.py --table prints it:")
            print(table())
            return 1
        print("docs: the include table matches")
        return 0
    bad = violations(src_dir)
    for v in bad:
        print(v)
    print(f"includes: {len(bad)} forbidden" if bad else "includes: every #include goes an allowed way")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
