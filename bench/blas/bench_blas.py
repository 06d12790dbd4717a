#!/usr/bin/python3
"""pw.x with the reference BLAS (netlib, Debian's libblas3/liblapack3: what Debian's pw.x gets unless an
optimized BLAS is installed, and what the tutorial compiled) against OpenBLAS (libopenblas0-serial: what
qecloud's image ships), on the same input, in one run.

Both are Debian's own shared libraries behind the same names (libblas.so.3, liblapack.so.3); each side's
directory is put first in LD_LIBRARY_PATH, so the same pw.x binary loads one or the other (`ldd` checks it).
Runs alternate side by side (best of N each), so that a drift of the machine does not count for one side;
both sides must print the same total energy (to 1e-6 Ry) or the benchmark fails.

Cases: si8 — 8-atom Si cubic cell, ecutwfc 30 Ry, 4x4x4 k-points (about 3 s a run here); with --large also
si32 — 32 atoms (a 2x2x1 supercell), ecutwfc 25 Ry, 2x2x4 k-points (about 40 s / 100 s a run here).
2 MPI ranks x 2 k-point pools, one BLAS thread per rank (the serial OpenBLAS).

Usage: bench_blas.py SOURCE_DIR [RUNS] [--large]
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

SRC = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 3
LARGE = "--large" in sys.argv
LIB = f"/usr/lib/{sysconfig.get_config_var('MULTIARCH') or 'x86_64-linux-gnu'}"  # Debian's multiarch directory
SIDES = {
    "reference BLAS": [f"{LIB}/blas", f"{LIB}/lapack"],
    "OpenBLAS": [f"{LIB}/openblas-serial"],
}
PSEUDO = os.path.join(SRC, "examples", "si", "Si.pz-vbc.UPF")
DIAMOND = [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0),
           (.25, .25, .25), (.25, .75, .75), (.75, .25, .75), (.75, .75, .25)]


def si_input(nx, ny, ecut, kpts):
    """A diamond Si supercell of nx x ny x 1 cubic cells (8 atoms each), a = 10.26 bohr."""
    atoms = []
    for ix in range(nx):
        for iy in range(ny):
            for (x, y, z) in DIAMOND:
                atoms.append(((x + ix) / nx, (y + iy) / ny, z))
    a = 10.26
    lines = [" &control", "  calculation='scf', prefix='si', pseudo_dir='./', outdir='./'", " /",
             " &system", f"  ibrav=0, nat={len(atoms)}, ntyp=1, ecutwfc={ecut}", " /",
             " &electrons", "  conv_thr=1e-8", " /",
             "ATOMIC_SPECIES", " Si 28.086 Si.pz-vbc.UPF",
             "CELL_PARAMETERS bohr", f" {a * nx} 0 0", f" 0 {a * ny} 0", f" 0 0 {a}",
             "ATOMIC_POSITIONS crystal"] + [f" Si {x:.6f} {y:.6f} {z:.6f}" for (x, y, z) in atoms] + \
            ["K_POINTS automatic", f" {kpts[0]} {kpts[1]} {kpts[2]} 0 0 0", ""]
    return "\n".join(lines)


def env_for(side):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               LD_LIBRARY_PATH=":".join(SIDES[side] + [os.environ.get("LD_LIBRARY_PATH", "")]).rstrip(":"))
    return env


def blas_of(side):
    out = subprocess.run(["ldd", shutil.which("pw.x")], env=env_for(side), capture_output=True, text=True).stdout
    m = re.search(r"libblas\.so\.3 => (\S+)", out)
    return m.group(1) if m else "none"


def run(side, workdir):
    start = time.monotonic()
    r = subprocess.run(["mpirun", "--allow-run-as-root", "-np", "2", "pw.x", "-nk", "2", "-in", "pw.in"],
                       cwd=workdir, env=env_for(side), capture_output=True, text=True)
    took = time.monotonic() - start
    m = re.search(r"^!\s+total energy\s+=\s+(-?\d+\.\d+) Ry", r.stdout, re.M)
    if r.returncode != 0 or not m:
        sys.exit(f"FAIL: {side}: pw.x exit {r.returncode}: {r.stdout[-1500:]}{r.stderr[-1500:]}")
    return took, float(m.group(1))


def case(name, text):
    work = tempfile.mkdtemp(prefix=f"qecloud-bench-blas-{name}-")
    try:
        with open(os.path.join(work, "pw.in"), "w") as f:
            f.write(text)
        shutil.copy(PSEUDO, work)
        best, energy = {}, {}
        for _ in range(RUNS):
            for side in SIDES:  # alternating, so a drift of the machine hits both sides alike
                took, e = run(side, work)
                best[side] = min(best.get(side, took), took)
                energy.setdefault(side, e)
        ref, opt = best["reference BLAS"], best["OpenBLAS"]
        if abs(energy["reference BLAS"] - energy["OpenBLAS"]) > 1e-6:
            sys.exit(f"FAIL: {name}: the two sides disagree: {energy}")
        print(f"{name}: reference BLAS {ref:.2f} s, OpenBLAS {opt:.2f} s (best of {RUNS}): OpenBLAS {ref / opt:.2f}x "
              f"faster; E = {energy['OpenBLAS']:.8f} Ry on both", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    for tool in ("pw.x", "mpirun", "ldd"):
        if not shutil.which(tool):
            sys.exit(f"FAIL: {tool} not found")
    for side, dirs in SIDES.items():
        if not all(os.path.exists(os.path.join(d, "libblas.so.3")) or os.path.exists(os.path.join(d, "liblapack.so.3"))
                   for d in dirs):
            sys.exit(f"FAIL: {side} is not installed ({dirs}); apt-get install libblas3 liblapack3 libopenblas0-serial")
        print(f"{side}: pw.x loads {blas_of(side)}")
        if not any(d in os.path.realpath(blas_of(side)) or d in blas_of(side) for d in dirs):
            sys.exit(f"FAIL: {side}: LD_LIBRARY_PATH did not select it")
    case("si8", si_input(1, 1, 30, (4, 4, 4)))
    if LARGE:
        case("si32", si_input(2, 2, 25, (2, 2, 4)))


if __name__ == "__main__":
    main()
