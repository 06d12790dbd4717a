#!/usr/bin/python3
"""`qecloud run`'s automatic recovery (job/recovery.hpp) with real pw.x: a deliberately hard SCF (the seed
silicon case with mixing_beta 0.95 and electron_maxstep 3) is recovered from its charge density and reaches
the seed's energy; with --no-recover it ends scf_not_converged (exit 4); a Davidson that fails ("S matrix not
positive definite") is rerun with PPCG; smearing with no empty band is rerun with more bands. Every attempt
is in the job's history (`show --json`), the user's input is never edited, the store keeps each attempt's
output and the edited input. Each case uses a fresh $QECLOUD_HOME.
Usage: recover_tests.py QECLOUD_BINARY SOURCE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cases import Cases

QECLOUD, SRC = sys.argv[1], sys.argv[2]
for tool in ("pw.x", "mpirun"):
    if not shutil.which(tool):
        sys.exit(f"FAIL: {tool} not found")

WORK = tempfile.mkdtemp(prefix="qecloud-recover-")
cases = Cases(WORK)
check, case = cases.check, cases.case
SEED_ENERGY = "-15.84473648"  # examples/si/scf.in, uninterrupted (integration.qecloud_run's seed_scf)


def seed_case(name, edit):
    """A copy of the seed's silicon case in its own directory, its scf.in changed by `edit(text)`."""
    d = os.path.join(WORK, name)
    os.makedirs(d)
    shutil.copy(os.path.join(SRC, "examples", "si", "Si.pz-vbc.UPF"), d)
    with open(os.path.join(SRC, "examples", "si", "scf.in")) as f:
        text = edit(f.read())
    path = os.path.join(d, "scf.in")
    with open(path, "w") as f:
        f.write(text)
    return path, text


def hard_scf(text):
    return text.replace("mixing_beta = 0.7", "mixing_beta = 0.95\n    electron_maxstep = 3")


def run(home, args):
    env = dict(os.environ, QECLOUD_HOME=home)
    r = subprocess.run([QECLOUD, "run"] + args + ["--json"], capture_output=True, text=True, env=env)
    try:
        return r, json.loads(r.stdout)
    except json.JSONDecodeError:
        return r, {}


def show(home, job):
    env = dict(os.environ, QECLOUD_HOME=home)
    r = subprocess.run([QECLOUD, "show", job, "--json"], capture_output=True, text=True, env=env)
    return json.loads(r.stdout)


def recoveries(home, job):
    """The notes of the transitions a recovery made: `running` again, after the first run."""
    running = [t["note"] for t in show(home, job)["transitions"] if t["state"] == "running"]
    return running[1:]


@case
def hard_scf_recovered(name, home):
    path, text = seed_case(name, hard_scf)
    r, d = run(home, [path])
    check(name, r.returncode == 0, f"exit {r.returncode}: {r.stderr[-800:]}")
    check(name, d.get("state") == "succeeded", f"state {d.get('state')}")
    check(name, "%.8f" % d["results"].get("total_energy_ry", 0) == SEED_ENERGY,
          f"E {d['results'].get('total_energy_ry')} (the seed's {SEED_ENERGY})")
    first = ("SCF not converged after 3 iterations: restarting from the last charge density with mixing_beta "
             "0.95 → 0.665 (recovery 1 of 3)")
    check(name, d.get("message") == "recovered: " + first, f"message {d.get('message')!r}")
    check(name, "qecloud: " + first in r.stderr, "the recovery is told on stderr")
    notes = recoveries(home, d["job_id"])
    check(name, notes == [first + "; staged input: &electrons mixing_beta = 0.665, &electrons startingpot = 'file'"],
          f"history {notes}")
    env = dict(os.environ, QECLOUD_HOME=home)
    shown = subprocess.run([QECLOUD, "show", d["job_id"]], capture_output=True, text=True, env=env).stdout
    check(name, "running — " + first in shown, f"show's history lists the recovery: {shown}")
    with open(path) as f:
        check(name, f.read() == text, "the user's input is unchanged")
    out = d["outputs"].replace("file://", "")
    with open(os.path.join(out, "output", "pw.attempt1.out")) as f:
        check(name, "convergence NOT achieved after   3 iterations" in f.read(), "attempt 1's output kept")
    with open(os.path.join(out, "output", "scf.in")) as f:
        check(name, "startingpot = 'file'" in f.read(), "the edited input stored beside the outputs")
    with open(os.path.join(out, "input", "scf.in")) as f:
        check(name, f.read() == text, "the stored input is the user's")
    with open(os.path.join(out, "output", "pw.out")) as f:
        check(name, "The initial density is read from file" in f.read(), "attempt 2 started from the density")


@case
def hard_scf_no_recover(name, home):
    path, _ = seed_case(name, hard_scf)
    r, d = run(home, [path, "--no-recover"])
    check(name, r.returncode == 4, f"exit {r.returncode} (4: not converged): {r.stderr[-500:]}")
    check(name, d.get("state") == "not_converged", f"state {d.get('state')}")
    check(name, d["results"].get("error_kind") == "scf_not_converged", f"kind {d['results'].get('error_kind')}")
    check(name, d.get("message", "").endswith("; automatic recovery is off (--no-recover)"),
          f"message {d.get('message')!r}")
    check(name, recoveries(home, d["job_id"]) == [], "no recovery in the history")
    out = d["outputs"].replace("file://", "")
    check(name, not os.path.exists(os.path.join(out, "output", "pw.attempt1.out")), "one attempt only")


@case
def davidson_failure_rerun_with_ppcg(name, home):
    # Measured with pw.x 6.7: at 4 Ry Davidson's subspace (2 × 14 bands) outgrows the plane waves of some
    # k-points of the unshifted 4×4×4 grid: cdiaghg "S matrix not positive definite". PPCG and CG converge.
    def edit(text):
        return (text.replace("ecutwfc =18.0, nbnd=8", "ecutwfc = 4.0, nbnd = 14")
                .replace("diagonalization='cg'", "diagonalization='david'").replace("16 16 16", "4 4 4"))
    path, _ = seed_case(name, edit)
    r, d = run(home, [path])
    check(name, r.returncode == 0 and d.get("state") == "succeeded", f"exit {r.returncode}: {r.stderr[-800:]}")
    notes = recoveries(home, d["job_id"])
    check(name, len(notes) == 1 and "diagonalization 'david' → 'ppcg'" in notes[0]
          and "not positive definite" in notes[0], f"history {notes}")


@case
def too_few_bands_for_smearing(name, home):
    # Smearing with nbnd = nelec/2 (no empty band): efermig cannot bracket the Fermi level (pw.x 6.7).
    def edit(text):
        return text.replace("nbnd=8", "nbnd=4, occupations='smearing', degauss=0.02").replace("16 16 16", "4 4 4")
    path, _ = seed_case(name, edit)
    r, d = run(home, [path])
    check(name, r.returncode == 0 and d.get("state") == "succeeded", f"exit {r.returncode}: {r.stderr[-800:]}")
    notes = recoveries(home, d["job_id"])
    check(name, len(notes) == 1 and "nbnd 4 → 8" in notes[0] and "cannot bracket" in notes[0], f"history {notes}")


cases.finish("qecloud run: recovery")
