"""bench/slurm: inside a Slurm allocation, how should the main agent launch pw.x across the nodes? Two ways, on
the same real Slurm (tests/integration/slurm/slurm_harness.py: three slurmd hosts on network namespaces), the
same job, alternating run by run:

  agent      mpirun with `qecloud agent exec` as its remote launcher (plm rsh): the daemons are started by the
             agents already running on the nodes (what `run --nodes` and AWS Batch use);
  scheduler  mpirun's own Slurm support (plm slurm): it asks slurmctld for a step and srun starts its daemons
             through every node's slurmd (QECLOUD_MPI_LAUNCHER=scheduler).

Two series, each alternating the launchers run by run:
  empty   the job's mpirun with /bin/true as pw.x (QECLOUD_PW): mpirun's wall time is the launcher's whole cost —
          start the remote daemons, wire them up, run three ranks that exit at once, tear down;
  seed    the seed's silicon job: mpirun's wall time, pw.x's own (its PWSCF WALL line), their difference, and
          the whole job as the user sees it (submit to `status` saying succeeded). Both sides must end with the
          same energy, or the benchmark fails.
mpirun's wall time is read from the main agent's lines ("running … ranks" to "mpirun ended", ms stamps).

usage: bench_slurm_launch.py QECLOUD REPO [ROUNDS=5]   (root)
"""
import json
import os
import re
import shutil
import statistics
import sys
import time

QECLOUD, REPO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
sys.path.insert(0, os.path.join(REPO, "tests", "integration", "slurm"))
import slurm_harness  # noqa: E402

STAMP = r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) agent\[0\]: "


def seconds(m):
    h, mi, s, ms = (int(x) for x in m.groups()[:4])
    return h * 3600 + mi * 60 + s + ms / 1000


def one_job(cluster, inp, launcher, pw=None):
    env = cluster.env(QECLOUD_AGENT_OVERSUBSCRIBED="1", QECLOUD_MPI_LAUNCHER=launcher)
    if pw:
        env["QECLOUD_PW"] = pw
    t0 = time.time()
    r = cluster.run([QECLOUD, "submit", inp, "--backend", "slurm", "--nodes", "3", "--ntasks-per-node", "1",
                     "--time", "10", "--json"], env=env)
    job = json.loads(r.stdout)["job_id"]
    while True:
        s = json.loads(cluster.run([QECLOUD, "status", job, "--json"]).stdout)
        if s["state"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    total = time.time() - t0
    out = open(os.path.join(cluster.home, "work", job, f"slurm-{s['slurm_job_id']}.out")).read()
    start = re.search(STAMP + r"running \d+ ranks", out, re.M)
    end = re.search(STAMP + r"mpirun ended with (.*?);", out, re.M)
    mpirun = seconds(end) - seconds(start)
    if pw:
        if end.group(5) != "exit code 0":
            raise RuntimeError(f"{launcher}: mpirun of {pw} ended with {end.group(5)}:\n{out[-3000:]}")
        return {"mpirun": mpirun}
    if s["state"] != "succeeded":
        raise RuntimeError(f"{launcher}: job {job} {s['state']}: {s['message']}")
    results = json.load(open(os.path.join(cluster.home, "store", "jobs", job, "output", "results.json")))
    return {"total": total, "mpirun": mpirun, "pw": results["wall_time_s"],
            "overhead": mpirun - results["wall_time_s"], "energy": results["total_energy_ry"]}


def main():
    slurm_harness.stale()
    cluster = slurm_harness.SlurmCluster(nodes=3, cpus=2, tmp_shares=[QECLOUD])
    try:
        d = os.path.join(cluster.shared, "si")
        os.makedirs(d)
        for f in ("scf.in", "Si.pz-vbc.UPF"):
            shutil.copy(os.path.join(REPO, "examples", "si", f), d)
        inp = os.path.join(d, "scf.in")
        one_job(cluster, inp, "agent")  # warm-up: pw.x's version cache, the page cache
        empty = {"agent": [], "scheduler": []}
        for k in range(2 * ROUNDS):
            for launcher in (("agent", "scheduler") if k % 2 == 0 else ("scheduler", "agent")):
                empty[launcher].append(one_job(cluster, inp, launcher, pw="/bin/true")["mpirun"])
        print("empty mpirun (3 ranks of /bin/true), wall time in s, alternating:")
        for launcher, xs in empty.items():
            print(f"  {launcher:<9} median {statistics.median(xs):.3f}  min {min(xs):.3f}  max {max(xs):.3f}  "
                  f"({' '.join(f'{x:.3f}' for x in xs)})", flush=True)
        runs = {"agent": [], "scheduler": []}
        for k in range(ROUNDS):
            for launcher in (("agent", "scheduler") if k % 2 == 0 else ("scheduler", "agent")):
                r = one_job(cluster, inp, launcher)
                runs[launcher].append(r)
                print(f"seed round {k + 1} {launcher:<9} job {r['total']:6.2f} s  mpirun {r['mpirun']:6.3f} s  "
                      f"pw.x {r['pw']:6.2f} s  mpirun − pw.x {r['overhead']:6.3f} s  E {r['energy']:.8f}", flush=True)
        energies = {r["energy"] for rs in runs.values() for r in rs}
        if max(energies) - min(energies) > 1e-8:
            sys.exit(f"FAIL: the two launchers disagree on the energy: {sorted(energies)}")
        print(f"\nseed job  {'median job':>11} {'median mpirun':>14} {'median pw.x':>12} {'mpirun − pw.x':>14}")
        med = {}
        for launcher, rs in runs.items():
            med[launcher] = {k: statistics.median(r[k] for r in rs) for k in ("total", "mpirun", "pw", "overhead")}
            m = med[launcher]
            print(f"{launcher:<9} {m['total']:10.2f}s {m['mpirun']:13.3f}s {m['pw']:11.2f}s {m['overhead']:13.3f}s")
        a, b = statistics.median(empty["agent"]), statistics.median(empty["scheduler"])
        ma, mb = med["agent"]["mpirun"], med["scheduler"]["mpirun"]
        ja, jb = med["agent"]["total"], med["scheduler"]["total"]
        # The launcher changes only what happens inside mpirun; the rest of a job's time is mostly when
        # slurmctld starts it, the same for both, so the whole job is printed last and read with that in mind.
        print(f"\nours (agent launcher) against the peer, mpirun's own Slurm launcher (srun), medians, "
              f"peer / ours:\n  launcher cost (empty mpirun): {a:.3f} s vs {b:.3f} s = {b / a:.2f}×\n"
              f"  seed job's mpirun: {ma:.3f} s vs {mb:.3f} s = {mb / ma:.2f}×\n"
              f"  seed job, submit to succeeded (includes Slurm's start): {ja:.2f} s vs {jb:.2f} s = {jb / ja:.2f}×")
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
