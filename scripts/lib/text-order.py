#!/usr/bin/env python3
"""Writes the linker script that puts the code a relay runs from start-up to idle first in `.text`.

Usage: text-order.py DEPS_DIR CALLGRIND_OUT... > link/idle-text.ld

The names are the relay binary's functions that ran in the callgrind dumps (recorded with
`--demangle=no`, see `scripts/record-text-order.sh`). Functions compiled into their own sections
(Rust, and C built with -ffunction-sections) are matched by section name, with the hash of a
legacy-mangled Rust name replaced by `*`: the hash changes with the build profile and target,
and a name without it matches every instance of a generic function. Assembly objects keep all
their code in one `.text`; those that define a function that ran are matched whole, by the name
of their archive member found in DEPS_DIR (the build's `target/<profile>/deps`) or in the
toolchain's own musl C library.
"""

import glob
import os
import re
import subprocess
import sys

CALL_RECORD = re.compile(r"(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?")
LEGACY_HASH = re.compile(r"17h[0-9a-f]{16}E(?=\*?$)")
# A v0 crate disambiguator changes with the profile, and the back-references after it shift.
V0_CRATE = re.compile(r"Cs[0-9A-Za-z]+_")
V0_BACKREF = re.compile(r"B[0-9A-Za-z]*_")
# valgrind 3.19 files a binary's functions under "???" once they are outside its `.text` section,
# as they are in a binary already linked with this script.
RELAY_OBJECTS = ("relay", "???")
# Names callgrind gives code it could not name, and valgrind's own frames.
NOT_A_FUNCTION = re.compile(r"^(0x[0-9a-f]+|\(below main\))$")


def functions_that_ran(paths):
    """The names of the relay's functions that ran, in the callgrind dumps."""
    names = set()
    for path in paths:
        objects, functions, current, callee = {}, {}, None, None
        with open(path, errors="replace") as dump:
            for line in dump:
                record = CALL_RECORD.match(line.rstrip("\n"))
                if not record:
                    continue
                kind, ident, name = record.groups()
                table = objects if kind in ("ob", "cob") else functions
                if name is not None:
                    # callgrind tells apart two functions of one name with a suffix "'2".
                    table[ident] = re.sub(r"'\d+$", "", name)
                value = table.get(ident)
                if kind == "ob":
                    current = callee = value
                elif kind == "cob":
                    callee = value
                else:
                    owner = current if kind == "fn" else callee
                    if owner and os.path.basename(owner) in RELAY_OBJECTS:
                        names.add(value)
                    callee = current
    return {name for name in names if name and not NOT_A_FUNCTION.match(name)}


def section_pattern(name):
    """A glob for the section of `name` that survives a change of build profile."""
    # A static build's symbol table numbers local functions that share a name ("write_str.2581").
    name = re.sub(r"\.\d+$", "*", name)
    if name.startswith("_ZN"):
        return LEGACY_HASH.sub("17h*E", name)
    if name.startswith("_R"):
        return V0_BACKREF.sub("B*_", V0_CRATE.sub("Cs*_", name))
    return name


def assembly_members(deps_dir, names):
    """Archive members whose plain `.text` defines one of `names` (hand-written assembly)."""
    members = set()
    sysroot = subprocess.run(
        ["rustc", "--print", "sysroot"], capture_output=True, text=True
    ).stdout.strip()
    archives = (
        glob.glob(os.path.join(deps_dir, "*.rlib"))
        + glob.glob(os.path.join(deps_dir, "..", "build", "*", "out", "*.a"))
        # musl's own libc.a, linked into the static binary.
        + glob.glob(os.path.join(sysroot, "lib", "rustlib", "*", "lib", "self-contained", "*.a"))
    )
    for archive in archives:
        listing = subprocess.run(
            ["objdump", "-t", archive], capture_output=True, text=True
        ).stdout
        member = None
        for line in listing.splitlines():
            header = re.match(r"^(\S+):\s+file format", line)
            if header:
                member = header.group(1)
                continue
            # "address flags section<TAB>size [.hidden] name"
            left, tab, right = line.partition("\t")
            section, name = (left.split() or [""])[-1], (right.split() or [""])[-1]
            if member and tab and section == ".text" and name in names:
                members.add(re.sub(r"^[0-9a-f]{16}-", "*-", member))
    return sorted(members)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    names = functions_that_ran(sys.argv[2:])
    patterns = sorted({section_pattern(name) for name in names})
    print("/* The code the relay runs from start-up to idle, first in .text: fewer resident pages. */")
    print("/* Written by scripts/lib/text-order.py from callgrind; do not edit by hand. */")
    print("SECTIONS\n{\n  .text.idle :\n  {")
    for pattern in patterns:
        # LLVM puts a cold function (`#[cold]`, a slow path) in `.text.unlikely.<name>`.
        print(f"    *(.text.{pattern} .text.unlikely.{pattern})")
    for member in assembly_members(sys.argv[1], names):
        print(f"    *:{member}(.text)")
    print("  }\n}\nINSERT BEFORE .text;")


if __name__ == "__main__":
    main()
