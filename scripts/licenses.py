#!/usr/bin/env python3
"""Lists the licences of every crate compiled into the tok binary, with their texts.

scripts/licenses.py [--target TRIPLE] > THIRD-PARTY-LICENSES.md

Reads `cargo metadata` (the resolved graph for one target, normal dependencies only: build
scripts, proc macros' build-time code and dev-dependencies are not shipped, but proc macros
are listed since they generate shipped code), then each crate's declared SPDX expression and
the licence files in its source directory (LICENSE*, LICENCE*, COPYING*, NOTICE*, and the
manifest's `license-file`). Identical texts are printed once. Output depends only on the
lock file, so it is reproducible. Fails when a crate declares no licence at all.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

MUSL = """musl as a whole is licensed under the following standard MIT license:

Copyright © 2005-2020 Rich Felker, et al.

Permission is hereby granted, free of charge, to any person obtaining
a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to
the following conditions:

The above copyright notice and this permission notice shall be
included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

Portions of musl are public domain or under other permissive licences
compatible with MIT; musl's COPYRIGHT file lists them.
"""

PREFIXES = ("license", "licence", "copying", "notice", "unlicense")


def metadata(target):
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def shipped(meta):
    """Package ids reachable from tok through normal (non-dev, non-build) dependencies."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p["id"] for p in meta["packages"] if p["name"] == "tok" and p["source"] is None)
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    seen.discard(root)
    return seen


def licence_files(pkg):
    base = os.path.dirname(pkg["manifest_path"])
    names = set()
    for entry in sorted(os.listdir(base)):
        path = os.path.join(base, entry)
        if entry.lower().startswith(PREFIXES) and os.path.isfile(path):
            names.add(entry)
    if pkg.get("license_file"):
        names.add(os.path.normpath(pkg["license_file"]))
    texts = []
    for name in sorted(names):
        path = os.path.join(base, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append((name, f.read().strip() + "\n"))
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="x86_64-unknown-linux-musl")
    args = parser.parse_args()
    meta = metadata(args.target)
    ids = shipped(meta)
    packages = sorted((p for p in meta["packages"] if p["id"] in ids),
                      key=lambda p: (p["name"], p["version"]))
    texts = {}          # digest -> (text, [crate names])
    rows = []
    missing = []
    for pkg in packages:
        expression = pkg.get("license") or ""
        files = licence_files(pkg)
        if not expression and not files:
            missing.append(f'{pkg["name"]} {pkg["version"]}')
        refs = []
        for name, text in files:
            digest = hashlib.sha256(text.encode()).hexdigest()[:12]
            texts.setdefault(digest, (text, []))[1].append(f'{pkg["name"]} {pkg["version"]} ({name})')
            refs.append(f"[{digest}](#{digest})")
        rows.append((pkg["name"], pkg["version"], expression or "see text", pkg.get("repository") or "",
                     ", ".join(refs) or "no file in the crate; the SPDX text applies"))
    if missing:
        sys.exit("scripts/licenses.py: no licence declared by: " + ", ".join(missing))
    out = sys.stdout
    out.write("# Third-party licences\n\n")
    out.write(f"tok is Apache-2.0 (LICENSE). Its binary for {args.target} contains the "
              f"{len(rows)} crates below; each is used under the licence it declares (where a "
              "crate offers a choice, tok takes it under any licence offered that is compatible "
              "with Apache-2.0). Their licence files follow the table, each text once.\n\n")
    out.write("| crate | version | licence | source | licence files |\n|---|---|---|---|---|\n")
    for name, version, expression, repo, refs in rows:
        out.write(f"| {name} | {version} | {expression} | {repo} | {refs} |\n")
    out.write("\nLinked in by the Rust toolchain for this target:\n\n")
    out.write("- Rust's standard library (core, alloc, std, and their dependencies): MIT OR "
              "Apache-2.0, https://github.com/rust-lang/rust\n")
    out.write("- musl libc (statically linked by Rust's musl target): MIT, "
              "https://musl.libc.org\n\n```text\n" + MUSL + "```\n")
    out.write("\n## Licence texts\n")
    for digest in sorted(texts, key=lambda d: texts[d][1][0]):
        text, users = texts[digest]
        out.write(f'\n### <a id="{digest}"></a>{digest}\n\nUsed by: {", ".join(users)}\n\n')
        out.write("```text\n" + text.replace("```", "'''") + "```\n")


if __name__ == "__main__":
    main()
