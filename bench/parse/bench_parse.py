#!/usr/bin/python3
"""bench/parse: throughput of `qecloud parse` vs ASE's pw.x reader on one real pw.x output of >= 50 MB.

The output is made here by pw.x (a long molecular-dynamics run of bulk silicon with verbosity='high', so every
step prints eigenvalues for ~250 k-points) and cached, so later runs reuse it. Both parsers read the same file
in the same run; each is timed several times and the best time is reported. Both must find the same number of
ionic steps and the same final energy, or the benchmark fails.
Usage: bench_parse.py QECLOUD_BINARY [WORK_DIR]      (WORK_DIR default: ./bench-work)
"""
import json
import os
import subprocess
import sys
import time

QECLOUD = sys.argv[1]
WORK = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "bench-work")
TARGET_MB = 50
STEPS = 600  # ~1.76 MB per 20 steps measured here, so ~53 MB

INPUT = f"""&control
  calculation='md', prefix='simd', pseudo_dir='/usr/share/espresso/pseudo', outdir='./', nstep={STEPS}, dt=20,
  verbosity='high', tprnfor=.true.
/
&system
  ibrav=2, celldm(1)=10.20, nat=2, ntyp=1, ecutwfc=5.0, nbnd=12, nosym=.true.
/
&electrons
  conv_thr=1.0d-5
/
&ions
/
ATOMIC_SPECIES
 Si 28.086 Si.pz-vbc.UPF
ATOMIC_POSITIONS {{crystal}}
 Si 0.00 0.00 0.00
 Si 0.27 0.25 0.25
K_POINTS automatic
8 8 8 0 0 0
"""


def make_output():
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "md.out")
    if os.path.exists(out) and os.path.getsize(out) >= TARGET_MB * 1e6 and "JOB DONE" in open(out).read()[-2000:]:
        return out
    with open(os.path.join(WORK, "md.in"), "w") as f:
        f.write(INPUT)
    ranks = min(2, os.cpu_count() or 1)
    cmd = ["mpirun", "-np", str(ranks)] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    cmd += ["pw.x", "-nk", str(ranks), "-in", "md.in"]
    print(f"generating a pw.x MD output of ~{TARGET_MB} MB ({STEPS} steps; a few minutes) ...", flush=True)
    t = time.time()
    with open(out, "w") as f:
        subprocess.run(cmd, cwd=WORK, stdout=f, stderr=subprocess.DEVNULL, check=True)
    print(f"  made in {time.time() - t:.0f} s", flush=True)
    size = os.path.getsize(out)
    if size < TARGET_MB * 1e6:
        sys.exit(f"FAIL: output is only {size / 1e6:.1f} MB")
    return out


def best_of(n, fn):
    best, result = None, None
    for _ in range(n):
        t = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best, result


def ours(path):
    res = subprocess.run([QECLOUD, "parse", path, "--json"], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def ase_read(path):
    import ase.io
    return ase.io.read(path, format="espresso-out", index=":")


def main():
    path = make_output()
    size_mb = os.path.getsize(path) / 1e6
    # Warm the page cache so both read from memory.
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    t_ours, r = best_of(5, lambda: ours(path))
    t_ase, images = best_of(2, lambda: ase_read(path))
    import ase.units
    u = ase.units.create_units("2006")
    e_ase = images[-1].get_potential_energy() / u["Ry"]
    if len(images) != len(r["steps"]) or abs(e_ase - r["total_energy_ry"]) > 1e-8:
        sys.exit(f"FAIL: disagreement: ASE {len(images)} images, E={e_ase}; qecloud {len(r['steps'])} steps, "
                 f"E={r['total_energy_ry']}")
    print(f"file: {path} ({size_mb:.1f} MB, {len(images)} ionic steps)")
    print(f"qecloud parse --json : {t_ours:8.3f} s  ({size_mb / t_ours:7.1f} MB/s)  best of 5")
    print(f"ASE read(index=':')  : {t_ase:8.3f} s  ({size_mb / t_ase:7.1f} MB/s)  best of 2")
    print(f"ratio ASE/qecloud    : {t_ase / t_ours:8.1f}x  (goal >= 50x)")


main()
