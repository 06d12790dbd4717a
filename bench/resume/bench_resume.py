#!/usr/bin/python3
"""What a resume saves: a run stopped mid-SCF (SIGTERM after SCF iteration K) and continued with
`qecloud resume`, against the peer — running the same input again from scratch, which is what a user of the
seed tutorial does after a lost node or a time limit (nothing of the run is kept there).
Prints the wall times and the ratio (rerun / resume); fails only when the two energies differ.
Usage: bench_resume.py QECLOUD_BINARY SOURCE_DIR [K]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

QECLOUD, SRC = sys.argv[1], sys.argv[2]
K = int(sys.argv[3]) if len(sys.argv) > 3 else 5
work = tempfile.mkdtemp(prefix="qecloud-bench-resume-")
home = os.path.join(work, "home")
env = dict(os.environ, QECLOUD_HOME=home)
for f in ("scf.in", "Si.pz-vbc.UPF"):
    shutil.copy(os.path.join(SRC, "examples", "si", f), work)
path = os.path.join(work, "scf.in")
text = open(path).read().replace("ecutwfc =18.0", "ecutwfc =40.0").replace("conv_thr =  1.0d-8", "conv_thr = 1.0d-12")
open(path, "w").write(text)


def timed(args):
    t0 = time.time()
    r = subprocess.run([QECLOUD] + args + ["--json", "-q"], capture_output=True, text=True, env=env)
    return time.time() - t0, json.loads(r.stdout)


full_s, full = timed(["run", path])
p = subprocess.Popen([QECLOUD, "run", path, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                     env=env)
t0, seen = time.time(), ""
while f"SCF iteration {K:3d}" not in seen:
    line = p.stderr.readline()
    if not line:
        break
    seen += line
p.send_signal(signal.SIGTERM)
stopped = json.loads(p.communicate()[0])
stop_s = time.time() - t0
resume_s, resumed = timed(["resume", stopped["job_id"]])
print(f"machine: {os.cpu_count()} cores; case: seed silicon at 40 Ry, conv_thr 1e-12, stopped after SCF iteration {K}")
print(f"uninterrupted run: {full_s:.1f} s, E = {full['results']['total_energy_ry']:.8f} Ry")
print(f"stopped run: {stop_s:.1f} s ({stopped['state']}); resume: {resume_s:.1f} s, "
      f"E = {resumed['results']['total_energy_ry']:.8f} Ry")
print(f"after the stop, rerun from scratch (peer) / resume: {full_s:.1f} / {resume_s:.1f} s = {full_s / resume_s:.2f}x")
shutil.rmtree(work, ignore_errors=True)
if abs(full["results"]["total_energy_ry"] - resumed["results"]["total_energy_ry"]) > 1e-8:
    sys.exit("the resumed run's energy differs from the uninterrupted run's")
