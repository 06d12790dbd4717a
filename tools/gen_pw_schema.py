#!/usr/bin/env python3
"""Generates src/qe/pw_schema_table.cpp: pw.x's namelist variables, the values it accepts and its cards, each
with the QE release it appeared in and the release it disappeared in.

The authority is what pw.x reads at each release tag of Quantum ESPRESSO's git history (TAGS below):
  - variables: the NAMELIST statements and declarations of Modules/input_parameters.f90;
  - values: a character variable's accepted values (ALLOWED, restricted to what pw.x — not cp.x — runs) are
    dated by where pw.x compares them: the value's quoted literal in VALUE_SOURCES at that tag;
  - cards: the `trim(card) == 'NAME'` branches of read_cards (Modules/read_cards.f90), and whether that
    routine upper-cases the line before reading the card name (lower-case card names, QE >= 7.2);
  - functional names: the short names set_dft_from_name knows (Modules/funct.f90's SELECT CASE in 6.x,
    XClib/qe_dft_list.f90 from 7.0) and the names of the single terms a composite name is built from.
Versions are written major*100+minor (6.7 -> 607); `until` is the first release without it (0 = still there).

Usage: gen_pw_schema.py QE_GIT_DIR > src/qe/pw_schema_table.cpp
(QE_GIT_DIR: a clone of QE with its tags. Only data is extracted; nothing of QE is copied.)
"""
import re
import subprocess
import sys

# Release tags, oldest first: (tag, version code).
TAGS = [("qe-6.5", 605), ("qe-6.6", 606), ("qe-6.7.0", 607), ("qe-6.8", 608), ("qe-7.0", 700),
        ("qe-7.1", 701), ("qe-7.2", 702), ("qe-7.3", 703), ("qe-7.4", 704), ("qe-7.5", 705)]

# Where pw.x compares character values (any of these files at a tag holding the quoted literal).
# Variables whose unknown values pw.x silently replaces with a default: qecloud refuses values outside
# ALLOWED on purpose (a deliberate departure, docs/ARCHITECTURE.md), so their list is not dated.
DEPARTURES = {("system", "assume_isolated"), ("electrons", "startingwfc"), ("electrons", "startingpot")}

# Values that read_namelists' *_checkin also compares with a list of input_parameters.f90 (which holds cp.x's
# values too): pw.x accepts only values in both.
CHECKIN_LISTS = {("control", "calculation"): "calculation_allowed"}

# Where pw.x compares a character variable's value: the labels of the `SELECT CASE (trim(VAR))` branches in
# these files at a tag are the values it accepts then (a branch that only calls errore is a refusal). The
# other variables of ALLOWED are not dated: pw.x does not check them (it replaces an unknown startingwfc
# with its default), so their list is this script's.
VALUE_SOURCES = {
    ("control", "calculation"): ["PW/src/input.f90"],
    ("control", "restart_mode"): ["PW/src/input.f90"],
    ("control", "disk_io"): ["PW/src/input.f90"],
    ("system", "occupations"): ["PW/src/set_occupations.f90"],
    ("system", "smearing"): ["PW/src/set_occupations.f90"],
    ("system", "assume_isolated"): ["PW/src/input.f90"],
    ("system", "constrained_magnetization"): ["PW/src/input.f90"],
    ("electrons", "diagonalization"): ["PW/src/input.f90"],
    ("electrons", "mixing_mode"): ["PW/src/input.f90"],
    ("ions", "ion_dynamics"): ["PW/src/input.f90"],
    ("ions", "ion_temperature"): ["PW/src/input.f90"],
    ("ions", "pot_extrapolation"): ["PW/src/input.f90"],
    ("ions", "wfc_extrapolation"): ["PW/src/input.f90"],
    ("cell", "cell_dynamics"): ["PW/src/input.f90"],
}

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
    ("system", "assume_isolated"): ["none", "makov-payne", "m-p", "mp", "martyna-tuckerman", "m-t", "mt",
                                    "esm", "2D"],
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
    ("system", "constrained_magnetization"): ["none", "total", "atomic", "total direction",
                                              "atomic direction"],
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


def git_show(repo, tag, path):
    r = subprocess.run(["git", "-C", repo, "show", f"{tag}:{path}"], capture_output=True)
    return r.stdout.decode("latin-1") if r.returncode == 0 else ""


def branch_stops(lines, i):
    """Whether the CASE branch starting at lines[i] always calls errore with a positive code (a refusal; a
    negative code is a warning): a CALL errore outside any IF, DO or SELECT of the branch."""
    nest = 0
    while i < len(lines):
        l = lines[i]
        if nest == 0 and re.match(r"^(CASE\b|END\s*SELECT)", l, re.I):
            return False
        if re.match(r"^(IF\s*\(.*\)\s*THEN|DO\b|SELECT\s+CASE)", l, re.I):
            nest += 1
        elif re.match(r"^END\s*(IF|DO|SELECT)\b", l, re.I):
            nest -= 1
        elif nest == 0 and re.match(r"^CALL\s+errore\s*\(.*,\s*\(?\s*[1-9]\d*\s*\)?\s*\)$", l, re.I):
            return True
        i += 1
    return False


def case_labels(text, var, any_default=False):
    """Values of the CASE branches of every `SELECT CASE (trim(var))` block, except branches that only stop;
    None when no block refuses other values (each has a CASE DEFAULT that goes on, or none: pw.x then takes
    any value). A block that refuses them is pw.x's check; the others only translate the value."""
    lines = logical_lines(text)
    found = set()
    blocks, open_blocks = 0, 0
    select = re.compile(r"^SELECT\s+CASE\s*\(\s*trim\s*\(\s*" + var + r"\s*\)\s*\)", re.I)
    i = 0
    while i < len(lines):
        if not select.match(lines[i]):
            i += 1
            continue
        depth, i = 1, i + 1
        blocks += 1
        open_default = True
        while i < len(lines) and depth > 0:
            l = lines[i]
            if re.match(r"^SELECT\s+CASE", l, re.I):
                depth += 1
            elif re.match(r"^END\s*SELECT", l, re.I):
                depth -= 1
            elif depth == 1 and re.match(r"^CASE\s*(\(|DEFAULT)", l, re.I):
                stops = branch_stops(lines, i + 1)
                if re.match(r"^CASE\s*DEFAULT", l, re.I):
                    open_default = not stops
                elif not stops:
                    found.update(re.findall(r"'([^']*)'", l))
            i += 1
        open_blocks += open_default
    return None if blocks == open_blocks and not any_default else found


def card_info(text):
    """({card names}, lower case accepted) of read_cards at one tag."""
    names = set(re.findall(r"trim\(card\)\s*==\s*'(\w+)'", text, re.I))
    body = text[text.find("SUBROUTINE read_cards"):]
    read_at = re.search(r"READ\s*\(\s*input_line\s*,\s*\*[^)]*\)\s*card", body, re.I)
    upper_at = re.search(r"capital\s*\(\s*input_line", body, re.I)
    return names, bool(read_at and upper_at and upper_at.start() < read_at.start())


def data_list(src, name, upper=True):
    """The values of `DATA name / … /` (repeat counts such as 20*'NONE' expanded), or []."""
    m = re.search(r"DATA\s+" + name + r"\s*/(.*?)/", src, re.S | re.I)
    out = []
    for rep, val in re.findall(r"(?:(\d+)\s*\*\s*)?'([^']*)'", m.group(1)) if m else []:
        out += [val.strip().upper() if upper else val.strip()] * (int(rep) if rep else 1)
    return out


def functional_names(repo, tag):
    """({short name: the six indices set_dft_from_name gives it}, {family: term names by index}) at one tag:
    the SELECT CASE labels of Modules/funct.f90 (with their set_dft_values/xclib_set_dft_IDs arguments) and,
    from 7.0, XClib/qe_dft_list.f90's dft_full table; the terms a composite name is matched against."""
    funct = git_show(repo, tag, "Modules/funct.f90")
    dft_list = git_show(repo, tag, "XClib/qe_dft_list.f90")
    names = {}
    labels = case_labels(funct, "dftout", any_default=True)
    lines = logical_lines(funct)
    for i, l in enumerate(lines):
        m = re.match(r"^CASE\s*\((.*)\)$", l, re.I)
        if not m:
            continue
        ids = None
        for body in lines[i + 1:i + 12]:
            if re.match(r"^CASE\b", body, re.I):
                break
            v = re.search(r"(?:set_dft_values|xclib_set_dft_IDs)\(([^)]*)\)", body, re.I)
            if v:
                ids = [int(x) if x.strip().lstrip("-").isdigit() else 0 for x in v.group(1).split(",")]
                break
        for n in re.findall(r"'([^']*)'", m.group(1)):
            if n in labels:
                names[n.upper()] = ids
    for k in re.findall(r"dft_full\(\s*(\d+)\s*\)%name\s*/", dft_list):
        ids = re.search(r"dft_full\(\s*" + k + r"\s*\)%IDs\(1:6\)\s*/([^/]*)/", dft_list)
        vals = [int(x) for x in ids.group(1).split(",")] if ids else None
        for field in ("name", "name2"):
            n = re.search(r"dft_full\(\s*" + k + r"\s*\)%" + field + r"\s*/\s*'([^']*)'", dft_list)
            if n and n.group(1).lower() != "none":
                names[n.group(1).upper()] = vals
    families = {}
    for fam, (new, old) in {"exch": ("dft_LDAx_name", "exc"), "corr": ("dft_LDAc_name", "corr"),
                            "gradx": ("dft_GGAx_name", "gradx"), "gradc": ("dft_GGAc_name", "gradc"),
                            "meta": ("dft_MGGA_name", "meta"), "nonloc": ("nonlocc", "nonlocc")}.items():
        families[fam] = data_list(dft_list, new) or data_list(funct, old) or data_list(funct, new)
    return names, families


def dated(present):
    """(since, until) from the ordered list of versions holding a thing: since = first, until = the first
    release after the last one holding it (0 = still there)."""
    versions = [v for _, v in TAGS]
    first = next(v for v in versions if v in present)
    last = max(present)
    later = [v for v in versions if v > last]
    return first, later[0] if later else 0


def main(argv):
    if len(argv) != 1:
        sys.exit(__doc__)
    repo = argv[0]
    decls, members_at, values_at, cards_at, lower_cards, names_at = {}, {}, {}, {}, [], {}
    name_ids = {}
    unchecked = set()  # pw.x takes any value (a CASE DEFAULT that goes on) at some tag
    for tag, ver in TAGS:
        text = git_show(repo, tag, "Modules/input_parameters.f90")
        if not text:
            sys.exit(f"{tag}: no Modules/input_parameters.f90")
        members = {}
        parse(text, decls, members)
        # Still declared but refused when set (read_namelists: "The input parameter Hubbard_U is obsolete",
        # then errore: the old DFT+U syntax from 7.1): not part of that release's input.
        obsolete = {n.lower() for n in re.findall(r"The input parameter (\w+) is obsolete",
                                                  git_show(repo, tag, "Modules/read_namelists.f90"))}
        for nl, names in members.items():
            for n in names:
                if n not in obsolete:
                    members_at.setdefault((nl, n), set()).add(ver)
        for key, files in VALUE_SOURCES.items():
            labels = set()
            for f in files:
                found = case_labels(git_show(repo, tag, f), key[1])
                if found is None:
                    unchecked.add(key)
                    break
                labels |= found
            if key in CHECKIN_LISTS:
                labels &= set(data_list(text, CHECKIN_LISTS[key], upper=False))
            for v in labels:
                values_at.setdefault(key, {}).setdefault(v, set()).add(ver)
        names, lower = card_info(git_show(repo, tag, "Modules/read_cards.f90"))
        for c in names:
            cards_at.setdefault(c, set()).add(ver)
        if lower:
            lower_cards.append(ver)
        fnames, families = functional_names(repo, tag)
        for n, ids in fnames.items():
            names_at.setdefault(n, set()).add(ver)
            if ids:
                name_ids[n] = ids
    rows = []
    for nl in NAMELISTS:
        for (n_nl, name), present in sorted(members_at.items()):
            if n_nl != nl:
                continue
            if name not in decls:
                sys.exit(f"no declaration found for {nl}/{name}")
            ftype, bounds = decls[name]
            order = ALLOWED.get((nl, name), [])
            if (nl, name) in unchecked and (nl, name) not in DEPARTURES:
                allowed = []
            elif (nl, name) in VALUE_SOURCES and (nl, name) not in DEPARTURES:
                allowed = [(v, *dated(p)) for v, p in values_at.get((nl, name), {}).items()]
                if not allowed:
                    sys.exit(f"no SELECT CASE found for {nl}/{name}")
                # Values of our list that no tag compares by name (the default branch of a per-calculation
                # block, a suffix pw.x strips) are taken as always accepted.
                allowed += [(v, 0, 0) for v in order if v not in values_at.get((nl, name), {})]
                allowed.sort(key=lambda a: (order.index(a[0]) if a[0] in order else len(order), a[0]))
            else:
                allowed = [(v, 0, 0) for v in ALLOWED.get((nl, name), [])]
            rows.append((nl, name, ftype, bounds, allowed, *dated(present)))
    for (nl, name) in ALLOWED:
        if not any(r[0] == nl and r[1] == name for r in rows):
            sys.exit(f"allowed values given for unknown variable {nl}/{name}")
    print("// clang-format off")
    print("// (kept exactly as generated, so that running the generator again changes nothing)")
    print("// Generated by tools/gen_pw_schema.py from Quantum ESPRESSO's sources at the release tags")
    print("// " + ", ".join(t for t, _ in TAGS) + ".")
    print("// Do not edit by hand. Versions are major*100+minor; until = first release without it, 0 = none.")
    print('#include "qe/pw_schema.hpp"\n')
    print("namespace qecloud::qe::detail {\n")
    for i, r in enumerate(rows):
        if r[4]:
            vals = ", ".join(f'{{"{v}", {a}, {b}}}' for v, a, b in r[4])
            print(f"constexpr PwValue kAllowed{i}[] = {{{vals}}};")
    print("\nextern const PwVariable kPwVariables[];\nconst PwVariable kPwVariables[] = {")
    types = {"real": "kReal", "integer": "kInteger", "logical": "kLogical", "character": "kCharacter"}
    for i, (nl, name, ftype, bounds, allowed, since, until) in enumerate(rows):
        b = (bounds + [0, 0, 0])[:3]
        al = f"kAllowed{i}" if allowed else "{}"
        print(f'    {{"{nl}", "{name}", VarType::{types[ftype]}, {len(bounds)}, {{{b[0]}, {b[1]}, {b[2]}}}, '
              f'{al}, {since}, {until}}},')
    print("};\n")
    print("extern const size_t kPwVariableCount;\nconst size_t kPwVariableCount = sizeof(kPwVariables) / "
          "sizeof(kPwVariables[0]);\n")
    print(f"extern const int kOldestRelease;\nconst int kOldestRelease = {TAGS[0][1]};")
    print(f"extern const int kNewestRelease;\nconst int kNewestRelease = {TAGS[-1][1]};\n")
    print("extern const PwCard kPwCards[];\nconst PwCard kPwCards[] = {")
    for c, present in sorted(cards_at.items()):
        print(f'    {{"{c}", {dated(present)[0]}, {dated(present)[1]}}},')
    print("};\nextern const size_t kPwCardCount;\nconst size_t kPwCardCount = sizeof(kPwCards) / "
          "sizeof(kPwCards[0]);\n")
    if lower_cards != [v for _, v in TAGS if v >= min(lower_cards)]:
        sys.exit("lower-case card names accepted, then refused again: the table cannot say so")
    print(f"extern const int kLowerCaseCardsSince;\nconst int kLowerCaseCardsSince = {min(lower_cards)};\n")
    print("extern const PwFunctional kFunctionalNames[];\nconst PwFunctional kFunctionalNames[] = {")
    for n, present in sorted(names_at.items()):
        ids = name_ids.get(n)
        ids_text = "{" + ", ".join(str(x) for x in ids) + "}" if ids else "{-1, -1, -1, -1, -1, -1}"
        print(f'    {{"{n}", {dated(present)[0]}, {dated(present)[1]}, {ids_text}}},')
    print("};\nextern const size_t kFunctionalNameCount;\nconst size_t kFunctionalNameCount = "
          "sizeof(kFunctionalNames) / sizeof(kFunctionalNames[0]);\n")
    # The terms of the newest release, by family and index (a composite name such as 'sla+pw+pbx+pbc').
    for fam, terms in families.items():
        print(f"constexpr std::string_view kTerms_{fam}[] = {{" + ", ".join(f'"{t}"' for t in terms) + "};")
    print("extern const std::span<const std::string_view> kFunctionalTerms[6];")
    print("const std::span<const std::string_view> kFunctionalTerms[6] = {" +
          ", ".join(f"kTerms_{fam}" for fam in families) + "};\n")
    print("}  // namespace qecloud::qe::detail")


if __name__ == "__main__":
    main(sys.argv[1:])
