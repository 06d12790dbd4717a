#!/usr/bin/env python3
"""Drafts the asserted values of the pw.x output corpus (tests/data/outputs-corpus/EXPECTED.json).

A second, deliberately plain reading of pw.x's text, written apart from src/qe/output_parser.cpp: each value is
taken from the line pw.x printed it on, by the rules pw.x's own source follows (PW/src/move_ions.f90,
Modules/bfgs_module.f90, PW/src/dynamics_module.f90, PW/src/vcsmd.f90, PW/src/print_ks_energies.f90).
It only drafts: every value it prints is checked by hand against the output before it goes into
EXPECTED.json, and where this draft and the parser disagree, the text decides.

Usage: draft_output_expectations.py TESTS_DATA_DIR FILE... > draft.json   (FILE relative to TESTS_DATA_DIR)

Fields (the contract of tests/unit/test_output_corpus.cpp): numbers are strings exactly as printed, so a
test can compare to the last printed digit.
  qe_version, calculation, job_done, error_kind (null when the run succeeded), total_energy_ry (the last '!'
  or '!!' energy), step_energies_ry and step_cell_units (one per ionic step: a geometry for which an energy
  was printed; none for a single-point run), steps_with_forces, scf_iterations (of the last SCF cycle, or
  the iterations printed when the cycle was cut), fermi_energy_ev or fermi_energy_up_ev/fermi_energy_down_ev.
"""
import gzip
import json
import os
import re
import sys

ENERGY = re.compile(r"^!!?\s+total energy\s+=\s+(\S+)\s+Ry")
CELL_UNITS = re.compile(r"CELL_PARAMETERS\s*[({]\s*(alat|bohr|angstrom)", re.I)

# Error routines seen in the corpus and what they mean (the parser's table is larger; this one is checked
# by hand for each file that has an error box).
ERROR_ROUTINES = {"checkallsym": "bad_input", "read_namelists": "bad_input", "cdiaghg": "diagonalization_failed"}


def text_of(path):
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return f.read().decode("latin-1")


def draft(path):
    lines = [l.rstrip("\r") for l in text_of(path).split("\n")]
    x = {"qe_version": None, "job_done": False}
    relax = md = variable_cell = bands = levels_after_bands = False
    vcsmd_minimization = False
    in_final = False
    steps = []  # [energy, cell_units, forces]
    geometry_energy = None  # index into steps of the current geometry's step, or None
    cell_units = None
    last_energy = None
    fermi = None
    error_box = None
    stopped = out_of_time = max_steps = bfgs_failed = diag_stop = False
    scf_open = False
    scf_iterations = 0
    accuracies = 0
    scf_failed = False
    for i, line in enumerate(lines):
        t = line.strip()
        if x["qe_version"] is None and t.startswith("Program PWSCF"):
            m = re.search(r"v\.(\S+)", t)
            x["qe_version"] = m.group(1) if m else None
        if t.startswith("JOB DONE"):
            x["job_done"] = True
        if t.startswith("Begin final coordinates"):
            in_final = True
        if t.startswith("End final coordinates"):
            in_final = False
        # Run kind.
        if "BFGS Geometry Optimization" in t or "Damped Dynamics Calculation" in t or "FIRE" in t:
            relax = True
        if "Damped" in t and "Minimization" in t:
            relax = vcsmd_minimization = True
        if "Molecular Dynamics Calculation" in t or "Langevin Dynamics Calculation" in t:
            md = True
        if t.startswith("Entering Dynamics;"):  # vcsmd: variable-cell damped dynamics or MD
            variable_cell = True
            md = md or not vcsmd_minimization
        if t.startswith("Entering Dynamics:"):
            md = md or not relax
        if re.match(r"(enthalpy new|Final enthalpy)", t) or "G-vectors are recalculated for the final unit cell" in t:
            variable_cell = True
        if t.startswith("CELL_PARAMETERS") and not in_final:
            variable_cell = True
        if t.startswith("Band Structure Calculation"):
            bands = True
        if bands and (t.startswith("the Fermi energy") or t.startswith("highest occupied")
                      or t.startswith("the spin up/dw Fermi")):
            levels_after_bands = True
        # Geometries and their cells.
        if t.startswith("a(3) = ("):  # the header's crystal axes, in alat units, complete
            cell_units = "alat"
        m = CELL_UNITS.match(t)
        if m:
            cell_units = m.group(1).lower()
        if t.startswith("ATOMIC_POSITIONS") or (t.startswith("site n.") and "alat units" in t):
            geometry_energy = None
        m = ENERGY.match(line)
        if m:
            last_energy = m.group(1)
            if geometry_energy is None:
                steps.append([m.group(1), cell_units, False])
                geometry_energy = len(steps) - 1
            else:
                steps[geometry_energy][0] = m.group(1)
        if t.startswith("Forces acting on atoms") and geometry_energy is not None:
            steps[geometry_energy][2] = True
        # SCF cycles.
        if re.match(r"iteration #\s*1\s", t):
            scf_open, accuracies, scf_failed = True, 0, False
        if t.startswith("estimated scf accuracy"):
            accuracies += 1
        m = re.match(r"convergence has been achieved in\s+(\d+)", t)
        if m:
            scf_open, scf_iterations, scf_failed = False, int(m.group(1)), False
        m = re.match(r"convergence NOT achieved after\s+(\d+)", t)
        if m:
            scf_open, scf_iterations, scf_failed = False, int(m.group(1)), True
        # Fermi energies.
        m = re.match(r"the Fermi energy is\s+(\S+)\s+ev", t)
        if m:
            fermi = {"fermi_energy_ev": m.group(1)}
        m = re.match(r"the spin up/dw Fermi energies are\s+(\S+)\s+(\S+)\s+ev", t)
        if m:
            fermi = {"fermi_energy_up_ev": m.group(1), "fermi_energy_down_ev": m.group(2)}
        # Outcome.
        m = re.match(r"Error in routine\s+(\w+)", t)
        if m and error_box is None:
            error_box = m.group(1).lower()
        stopped |= t.startswith("Program stopped by user request")
        out_of_time |= t.startswith("Maximum CPU time exceeded")
        max_steps |= t.startswith("The maximum number of steps has been reached") or t.startswith(
            "Maximum number of iterations reached, stopping")
        bfgs_failed |= t.startswith("bfgs failed")
        diag_stop |= t.startswith("[Q, R] = qr(X, 0) failed")
    if relax:
        x["calculation"] = "vc-relax" if variable_cell else "relax"
    elif md:
        x["calculation"] = "vc-md" if variable_cell else "md"
    elif bands:
        x["calculation"] = "nscf" if levels_after_bands else "bands"
    else:
        x["calculation"] = "scf"
    if error_box:
        kind = ERROR_ROUTINES.get(error_box, "crash")
    elif diag_stop:
        kind = "diagonalization_failed"
    elif stopped:
        kind = "stopped_by_user"
    elif out_of_time:
        kind = "out_of_walltime"
    elif scf_failed:
        kind = "scf_not_converged"
    elif relax and (max_steps or bfgs_failed):
        kind = "ionic_not_converged"
    elif not x["job_done"]:
        kind = "incomplete"
    else:
        kind = None
    x["error_kind"] = kind
    x["total_energy_ry"] = last_energy
    if x["calculation"] in ("scf", "nscf", "bands"):
        steps = []
    x["step_energies_ry"] = [s[0] for s in steps]
    x["step_cell_units"] = [s[1] or "" for s in steps]
    x["steps_with_forces"] = sum(1 for s in steps if s[2])
    x["scf_iterations"] = accuracies if scf_open else scf_iterations
    x.update(fermi or {})
    return x


def main():
    top = sys.argv[1]
    out = []
    for rel in sys.argv[2:]:
        entry = {"path": rel}
        entry.update(draft(os.path.join(top, rel)))
        out.append(entry)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
