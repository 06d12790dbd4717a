#!/usr/bin/env python3
"""Generates src/qe/pw_schema_table.cpp: pw.x's own namelist variables, with their types and array shapes.

The authority is what pw.x's Fortran READ accepts: the NAMELIST statements and declarations of
Modules/input_parameters.f90 in Quantum ESPRESSO. We take the union over the QE versions we support (6.x and
7.x), so an input any of them accepts is never called unknown. Allowed values of character variables are those
pw.x itself checks (the *_allowed DATA arrays of input_parameters.f90 and the SELECT CASE blocks of
PW/src/input.f90 and set_occupations), restricted to what pw.x — not cp.x — runs.

Usage: gen_pw_schema.py input_parameters-6.7.f90 input_parameters-7.2.f90 ... > src/qe/pw_schema_table.cpp
(e.g. `git show qe-6.7.0:Modules/input_parameters.f90` in a clone of QE.) Only data is extracted.
"""
import re
import sys

NAMELISTS = ["control", "system", "electrons", "ions", "cell", "fcp", "rism"]

# Values pw.x accepts, exactly as it compares them (pw.x is case-sensitive here).
ALLOWED = {
    ("control", "calculation"): ["scf", "nscf", "bands", "relax", "md", "vc-relax", "vc-md"],
    ("control", "restart_mode"): ["from_scratch", "restart"],
    ("control", "disk_io"): ["high", "medium", "low", "nowf", "minimal", "none", "default"],
    ("control", "memory"): ["small", "default", "large"],
    ("system", "occupations"): ["smearing", "tetrahedra", "tetrahedra_lin", "tetrahedra-lin",
                                "tetrahedra_opt", "tetrahedra-opt", "fixed", "from_input"],
    ("system", "smearing"): ["gaussian", "gauss", "methfessel-paxton", "m-p", "mp", "marzari-vanderbilt",
                             "cold", "m-v", "mv", "fermi-dirac", "f-d", "fd"],
    ("system", "assume_isolated"): ["none", "makov-payne", "m-p", "mp", "dcc", "martyna-tuckerman", "m-t",
                                    "mt", "esm", "2D"],
    ("system", "exxdiv_treatment"): ["gygi-baldereschi", "gygi-bald", "g-b", "gb", "vcut_ws",
                                     "vcut_spherical", "none"],
    ("electrons", "diagonalization"): ["david", "davidson", "cg", "ppcg", "paro", "rmm-davidson", "rmm-paro",
                                       "david-serial", "cg-serial", "ppcg-serial", "paro-serial"],
    ("electrons", "mixing_mode"): ["plain", "TF", "local-TF", "potential"],
    ("electrons", "startingwfc"): ["atomic", "atomic+random", "random", "file"],
    ("electrons", "startingpot"): ["atomic", "file"],
    ("ions", "ion_dynamics"): ["none", "bfgs", "damp", "verlet", "langevin", "langevin-smc", "langevin+smc",
                               "beeman", "fire", "ipi", "sd", "cg"],
    ("ions", "ion_temperature"): ["not_controlled", "not-controlled", "not controlled", "initial", "rescaling",
                                  "rescale-v", "rescale-V", "rescale_v", "rescale_V", "reduce-T", "reduce-t",
                                  "reduce_T", "reduce_t", "rescale-T", "rescale-t", "rescale_T", "rescale_t",
                                  "berendsen", "andersen", "svr"],
    ("ions", "pot_extrapolation"): ["none", "atomic", "first_order", "first-order", "first order",
                                    "second_order", "second-order", "second order", "from_wfcs", "from-wfcs"],
    ("ions", "wfc_extrapolation"): ["none", "first_order", "first-order", "first order", "second_order",
                                    "second-order", "second order"],
    ("cell", "cell_dynamics"): ["none", "sd", "damp-pr", "damp-w", "bfgs", "ipi", "pr", "w"],
}

DECL = re.compile(r"^\s*(REAL\s*\(\s*(?:DP|dp|kind\s*=\s*DP)\s*\)|REAL|INTEGER|LOGICAL|CHARACTER\s*\([^)]*\)|CHARACTER\*\d+)"
                  r"\s*(?:,[^:]*)?::\s*(.*)$", re.IGNORECASE)


def logical_lines(text):
    """Fortran free-form lines with '&' continuations joined and '!' comments removed."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = re.sub(r"!.*$", "", raw) if "'" not in raw and '"' not in raw else strip_comment(raw)
        line = line.rstrip()
        cont = line.endswith("&")
        if cont:
            line = line[:-1]
        line = line.lstrip()
        if line.startswith("&"):
            line = line[1:]
        cur += " " + line
        if not cont:
            out.append(cur.strip())
            cur = ""
    return out


def strip_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "!":
            return line[:i]
    return line


def split_top(s):
    """Splits at commas not inside parentheses or quotes."""
    parts, depth, cur, quote = [], 0, "", None
    for c in s:
        if quote:
            cur += c
            if c == quote:
                quote = None
            continue
        if c in "'\"":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += c
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse(text, decls, members):
    for line in logical_lines(text):
        m = re.match(r"^NAMELIST\s*/\s*(\w+)\s*/\s*(.*)$", line, re.IGNORECASE)
        if m:
            nl = m.group(1).lower()
            if nl in NAMELISTS:
                members.setdefault(nl, [])
                for v in split_top(m.group(2)):
                    v = v.lower()
                    if v not in members[nl]:
                        members[nl].append(v)
            continue
        m = DECL.match(line)
        if not m:
            continue
        kind = m.group(1).upper()
        ftype = ("real" if kind.startswith("REAL") else "integer" if kind.startswith("INTEGER")
                 else "logical" if kind.startswith("LOGICAL") else "character")
        dims_attr = re.search(r"DIMENSION\s*\(([^)]*)\)", line, re.IGNORECASE)
        for item in split_top(m.group(2)):
            item = item.split("=")[0].strip()
            mm = re.match(r"^(\w+)\s*(?:\((.*)\))?$", item)
            if not mm:
                continue
            name = mm.group(1).lower()
            dims = mm.group(2) if mm.group(2) else (dims_attr.group(1) if dims_attr else None)
            bounds = []
            if dims:
                for d in split_top(dims):
                    d = d.split(":")[-1].strip()
                    bounds.append(int(d) if d.isdigit() else 0)
            decls.setdefault(name, (ftype, bounds))


def main(paths):
    decls, members = {}, {}
    for p in paths:
        parse(open(p, encoding="latin-1").read(), decls, members)
    rows = []
    for nl in NAMELISTS:
        for name in sorted(members.get(nl, [])):
            if name not in decls:
                sys.exit(f"no declaration found for {nl}/{name}")
            ftype, bounds = decls[name]
            allowed = ALLOWED.get((nl, name), [])
            rows.append((nl, name, ftype, bounds, allowed))
    for (nl, name) in ALLOWED:
        if not any(r[0] == nl and r[1] == name for r in rows):
            sys.exit(f"allowed values given for unknown variable {nl}/{name}")
    print("// Generated by tools/gen_pw_schema.py from Quantum ESPRESSO's Modules/input_parameters.f90")
    print("// (union of the versions named in that script's invocation). Do not edit by hand.")
    print('#include "qe/pw_schema.hpp"\n')
    print("namespace qecloud::qe::detail {\n")
    for i, r in enumerate(rows):
        if r[4]:
            vals = ", ".join('"%s"' % v for v in r[4])
            print(f"constexpr std::string_view kAllowed{i}[] = {{{vals}}};")
    print("\nextern const PwVariable kPwVariables[];\nconst PwVariable kPwVariables[] = {")
    types = {"real": "kReal", "integer": "kInteger", "logical": "kLogical", "character": "kCharacter"}
    for i, (nl, name, ftype, bounds, allowed) in enumerate(rows):
        b = (bounds + [0, 0, 0])[:3]
        al = f"kAllowed{i}" if allowed else "{}"
        print(f'    {{"{nl}", "{name}", VarType::{types[ftype]}, {len(bounds)}, {{{b[0]}, {b[1]}, {b[2]}}}, {al}}},')
    print("};\n")
    print("extern const size_t kPwVariableCount;\nconst size_t kPwVariableCount = sizeof(kPwVariables) / sizeof(kPwVariables[0]);\n")
    print("}  // namespace qecloud::qe::detail")


if __name__ == "__main__":
    main(sys.argv[1:])
