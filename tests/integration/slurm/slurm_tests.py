#!/usr/bin/python3
"""`qecloud submit --backend slurm` on a real Slurm (slurm_harness.py: munge, slurmctld and three slurmd, each
host a network namespace), with real agents, OpenMPI and pw.x. Nothing of Slurm is faked.

Cases: three_nodes (the seed job through sbatch on 3 slurmd nodes: E = -15.84473648 Ry; `status` goes queued →
running → succeeded; `logs -f` follows the job's output file to its end; the report and mpirun's rank map name
all three hosts; fetch, show, list), time_limit (an SCF under --time 1 with a 10 s margin: max_seconds or
Slurm's signal stops pw.x cleanly mid-SCF, every node's restart data whole in the store, the job `stopped`, not
Slurm's TIMEOUT; `qecloud resume` on Slurm ends at the energy of an uninterrupted run of the same layout to
1e-8 Ry, the stopped job's stored files unchanged, both attempts in `show`),
cancel_running (a clean stop through the batch shell, restart data kept), cancel_pending (scancel of a queued
job), bad_config, unknown_partition (sbatch's refusal verbatim, nothing recorded as submitted), no_sbatch.
At the end: no namespace, daemon or job process of the harness is left.

Usage: slurm_tests.py QECLOUD_BINARY SOURCE_DIR [CASE…]   (needs root; fails when a tool is missing)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slurm_harness  # noqa: E402

QECLOUD, SRC = os.path.abspath(sys.argv[1]), sys.argv[2]
ONLY = sys.argv[3:]
SEED = os.path.join(SRC, "examples", "si")
E_SEED = -15.84473648
failures, passed = [], []
cluster = None

if os.geteuid() != 0:
    sys.exit("FAIL: the Slurm tests need root (network namespaces, munge, slurmd); CI runs them as root")
if slurm_harness.missing_tools():
    sys.exit("FAIL: missing " + ", ".join(slurm_harness.missing_tools()) + " (scripts/install-deps.sh)")


def check(case, cond, what):
    if not cond:
        failures.append(f"{case}: {what}")
        print(f"  FAIL {case}: {what}", flush=True)
    return cond


def seed_copy(name, md=False, long_scf=False):
    d = os.path.join(cluster.shared, "inputs", name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(SEED, "Si.pz-vbc.UPF"), d)
    text = open(os.path.join(SEED, "scf.in")).read()
    if long_scf:  # nine SCF iterations of 3-6 s each on 3 nodes sharing 2 cores
        text = re.sub(r"ecutwfc\s*=\s*[\d.]+", "ecutwfc=60.0", text)
        text = re.sub(r"conv_thr\s*=\s*[\d.dDeE+-]+", "conv_thr=1e-12", text)
    if md:  # an MD run far longer than its time limit, checking pw.x's EXIT file every few tenths of a second
        text = text.replace("calculation = 'scf'", "calculation = 'md', nstep = 5000, dt = 20")
        text = text.replace(" &electrons", " &electrons\n    conv_thr = 1.0d-6").replace("conv_thr =  1.0d-8", "")
        text = text.replace("ATOMIC_SPECIES", " &ions\n /\nATOMIC_SPECIES").replace("16 16 16 0 0 0", "4 4 4 0 0 0")
        text = text.replace(" Si 0.25 0.25 0.25", " Si 0.27 0.25 0.25")  # real forces: real dynamics
    path = os.path.join(d, "scf.in")
    with open(path, "w") as f:
        f.write(text)
    return path


def qe(args, env=None, timeout=120):
    # Three nodes share this machine's two cores: ranks yield when idle (sbatch exports this to the job).
    env = env or cluster.env(QECLOUD_AGENT_OVERSUBSCRIBED="1")
    r = cluster.run([QECLOUD] + args, env=env, check=False, timeout=timeout, cwd=cluster.shared)
    return r.returncode, r.stdout, r.stderr


def submit(case, inp, *extra):
    rc, out, err = qe(["submit", inp, "--backend", "slurm", "--json"] + list(extra))
    if not check(case, rc == 0, f"submit exit {rc}\n{out}{err}"):
        raise RuntimeError("submit failed")
    s = json.loads(out)
    check(case, s["backend"] == "slurm" and s["remote_id"].isdigit(), f"submit answered {s}")
    return s["job_id"], s["remote_id"]


def status(job):
    rc, out, err = qe(["status", job, "--json"])
    if rc != 0:
        raise RuntimeError(f"status exit {rc}: {err}")
    return json.loads(out)


def follow(job, until, seconds=300):
    """Polls `status` until `until(status)`; returns the states seen, in order, without repeats."""
    seen = []
    deadline = time.time() + seconds
    while True:
        s = status(job)
        if not seen or seen[-1] != s["state"]:
            seen.append(s["state"])
        if until(s):
            return seen, s
        if time.time() > deadline:
            raise RuntimeError(f"job {job} still {s['state']} ({s['backend_state']}) after {seconds} s; seen {seen}\n"
                               + cluster.daemon_logs(10))
        time.sleep(0.3)


def final(s):
    return s["state"] not in ("created", "queued", "running")


def job_record(job):
    rc, out, _ = qe(["show", job, "--json"])
    return json.loads(out) if rc == 0 else {}


def output_file(job):
    rec = job_record(job)
    st = status(job)
    path = os.path.join(cluster.home, "work", job, f"slurm-{st['slurm_job_id']}.out")
    return rec, path, open(path, errors="replace").read() if os.path.exists(path) else ""


def stored(job, *rel):
    return os.path.join(cluster.home, "store", "jobs", job, "output", *rel)


def three_nodes(case):
    inp = seed_copy(case)
    cluster.set_partition(False)  # held in the queue until the test has seen `queued`
    try:
        job, slurm_id = submit(case, inp, "--nodes", "3", "--ntasks-per-node", "1", "--time", "10")
        logs = cluster.popen([QECLOUD, "logs", "-f", job], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        s = status(job)
        check(case, s["state"] == "queued" and s["backend_state"] == "PENDING",
              f"first status {s['state']} / {s['backend_state']}")
        check(case, "PartitionDown" in s["reason"], f"reason {s['reason']!r}")
    finally:
        cluster.set_partition(True)
    seen, s = follow(job, final)
    check(case, seen == ["queued", "running", "succeeded"], f"states seen: {seen}")
    e = s.get("total_energy_ry")
    check(case, e is not None and abs(e - E_SEED) < 5e-9, f"E = {e}, not {E_SEED}")
    check(case, [n["reason"] for n in s["nodes"]] == ["node-0", "node-1", "node-2"], f"nodes {s['nodes']}")
    print(f"  {case}: Slurm job {slurm_id}, E = {e} Ry, states {' → '.join(seen)}", flush=True)
    out, err = logs.communicate(timeout=120)
    check(case, logs.returncode == 0, f"logs -f exit {logs.returncode}: {err}")
    _, path, text = output_file(job)
    followed = [re.sub(r"^\[node 0\] ", "", line) for line in out.splitlines()]
    check(case, followed == text.splitlines(), f"logs -f printed {len(followed)} lines, {path} has "
                                               f"{len(text.splitlines())}")
    for want in ("agent[0]: all 3 nodes joined", "agent[1]: node 1 (node-1", "agent[2]: node 2 (node-2",
                 "SCF iteration 1:", f"SCF converged in", "-15.84473648 Ry"):
        check(case, want in out, f"logs -f lacks {want!r}:\n{out[-3000:]}")
    report = json.load(open(stored(job, "agent.json")))
    hosts = sorted((n["hostname"], n["address"]) for n in report["node_list"])
    check(case, hosts == [(f"node-{i}", f"198.18.2.{10 + i}") for i in range(3)], f"report's nodes: {hosts}")
    pw = open(stored(job, "pw.out"), errors="replace").read()
    for host in ("node-0", "198.18.2.11", "198.18.2.12"):  # mpirun's rank map: itself by name, the others
        check(case, re.search(rf"Data for node: {re.escape(host)}\s", pw), f"rank map lacks {host}")
    check(case, re.search(r"MPI processes distributed on\s+3 nodes", pw), "pw.x did not see 3 nodes")
    fetched = os.path.join(cluster.shared, "fetched-" + job)
    rc, out, err = qe(["fetch", job, "--to", fetched])
    check(case, rc == 0 and os.path.exists(os.path.join(fetched, "results.json")), f"fetch: {rc} {err}")
    rc, out, err = qe(["show", job])
    check(case, rc == 0 and "energy    -15.84473648 Ry" in out, f"show:\n{out}{err}")
    rc, out, err = qe(["list"])
    check(case, re.search(rf"{re.escape(job)}\s+scf.in\s+succeeded\s+-15.84473648", out), f"list:\n{out}")
    check(case, cluster.squeue(slurm_id) == "COMPLETED", f"Slurm says {cluster.squeue(slurm_id)!r}")


def stop_cause(case, message):
    """Which clean stop ended pw.x, from the job's message (pw.x's own words)."""
    if "Maximum CPU time exceeded (max_seconds)" in message:
        return "pw.x's max_seconds"
    if "Program stopped by user request" in message:
        return "Slurm's signal (pw.x's EXIT file)"
    check(case, False, f"neither max_seconds nor the EXIT file stopped pw.x: {message!r}")
    return "?"


def stored_tree(job):
    """name -> bytes of every file the job has in the store (input/ and output/)."""
    root, out = os.path.join(cluster.home, "store", "jobs", job), {}
    for d, _, files in os.walk(root):
        for f in files:
            out[os.path.relpath(os.path.join(d, f), root)] = os.path.getsize(os.path.join(d, f))
    return out


def time_limit(case):
    # An SCF longer than its --time 1 stops cleanly mid-SCF, every node's restart data whole in the store;
    # `qecloud resume` on Slurm continues it to the energy of a run that was never stopped. Two clean stops
    # race here, and either is right: pw.x's max_seconds (the limit less the signal margin and a stop margin:
    # about 25 s of pw.x) and Slurm's signal (due at 50 s, which slurmctld's 30 s limit check may send early)
    # writing pw.x's EXIT file; which one it was is said.
    inp = seed_copy(case, long_scf=True)
    job, slurm_id = submit(case, inp, "--nodes", "3", "--ntasks-per-node", "1", "--time", "1")
    # The uninterrupted reference: a local run of the same input with the layout the Slurm job plans (3 ranks,
    # 3 pools; checked below against its restart data's), beside it: its time is spent while the Slurm job
    # waits for its stop, and the Slurm job, sharing the cores, is surely mid-SCF by then.
    ref = cluster.popen([QECLOUD, "run", inp, "--ranks", "3", "--pools", "3", "--oversubscribe", "--json"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen, s = follow(job, final, seconds=240)
        check(case, s["state"] == "stopped", f"ended {s['state']}: {s['message']}")
        _, _, text = output_file(job)
        max_seconds = re.search(r"agent\[0\]: time limit: &control max_seconds = (\d+) on the staged input", text)
        check(case, max_seconds, f"max_seconds was not set from --time:\n{text[-2000:]}")
        how = stop_cause(case, s["message"])
        pw = open(stored(job, "pw.out"), errors="replace").read() if os.path.exists(stored(job, "pw.out")) else ""
        check(case, "convergence has been achieved" not in pw and "iteration #  2" in pw, "not stopped mid-SCF")
        check(case, s["backend_state"] != "TIMEOUT", "Slurm hit the limit: the job did not stop before it")
        manifest = json.load(open(stored(job, "restart.json"))) if os.path.exists(stored(job, "restart.json")) else {}
        check(case, manifest.get("complete") and sorted(p["node"] for p in manifest.get("parts", [])) == [0, 1, 2],
              f"restart data: {manifest}")
        signalled = re.search(r"agent\[0\]: Terminated received", text)
        how += f" (max_seconds = {max_seconds.group(1) if max_seconds else 'not set'}" + \
            ("; Slurm's signal came too)" if signalled and how.startswith("pw.x") else ")")
        before = stored_tree(job)
        rc, out, err = qe(["resume", job, "--time", "10", "--json"])
        if not check(case, rc == 0, f"resume exit {rc}\n{out}{err}"):
            return
        again = json.loads(out)["job_id"]
        seen, s2 = follow(again, final, seconds=240)
        e = s2.get("total_energy_ry")
        out, err = ref.communicate(timeout=300)
        e_ref = json.loads(out)["results"]["total_energy_ry"] if ref.returncode == 0 else None
        check(case, (manifest["layout"]["ranks"], manifest["layout"]["pools"]) == (3, 3),
              f"the Slurm job's layout {manifest['layout']} is not the reference's")
        check(case, s2["state"] == "succeeded" and e is not None and e_ref is not None and abs(e - e_ref) <= 1e-8,
              f"resumed {s2['state']} E {e} vs uninterrupted {e_ref}: {s2['message']} {err[-500:]}")
        check(case, "restarted from scf iteration" in open(stored(again, "pw.out"), errors="replace").read(),
              "pw.x did not continue the SCF")
        check(case, stored_tree(job) == before, "the stopped job's stored files changed")
        rec = job_record(again)
        check(case, [(a["job_id"], a["state"]) for a in rec.get("attempts", [])] ==
              [(job, "stopped"), (again, "succeeded")], f"attempts {rec.get('attempts')}")
        check(case, rec.get("layout", {}).get("ntasks_per_node") == 1, f"resumed with {rec.get('layout')}, not the "
                                                                         "stopped job's one rank per node")
        print(f"  {case}: stopped by {how}; resumed E = {e} Ry, uninterrupted (local, 3 ranks, 3 pools) E = {e_ref} Ry",
              flush=True)
    finally:
        if ref.poll() is None:  # the case ended early: a clean stop, as Ctrl-C
            ref.terminate()
            ref.communicate(timeout=60)


def cancel_running(case):
    inp = seed_copy(case, md=True)
    job, slurm_id = submit(case, inp, "--nodes", "3", "--ntasks-per-node", "1", "--time", "10")
    follow(job, lambda s: s["state"] == "running" and "SCF iteration" in output_file(job)[2], seconds=120)
    rc, out, err = qe(["cancel", job, "--reason", "test"])
    check(case, rc == 0, f"cancel exit {rc}: {err}")
    seen, s = follow(job, final, seconds=120)
    check(case, s["state"] == "stopped", f"ended {s['state']}: {s['message']}")
    check(case, "cancel requested: test" in s["message"], f"message {s['message']!r}")
    check(case, os.path.exists(stored(job, "silicon.save", "data-file-schema.xml")), "no restart data stored")


def cancel_pending(case):
    inp = seed_copy(case)
    cluster.set_partition(False)
    try:
        job, slurm_id = submit(case, inp, "--nodes", "3", "--ntasks-per-node", "1", "--time", "10")
        rc, out, err = qe(["cancel", job])
        check(case, rc == 0, f"cancel exit {rc}: {err}")
        seen, s = follow(job, final, seconds=60)
        check(case, s["state"] == "stopped" and s["backend_state"] == "CANCELLED", f"{s['state']} / {s['backend_state']}")
    finally:
        cluster.set_partition(True)


def jobs_recorded():
    rc, out, _ = qe(["list", "--json"])
    return json.loads(out)


def bad_config(case):
    bad = os.path.join(cluster.shared, "bad.toml")
    with open(bad, "w") as f:
        f.write('[slurm]\npartition = "debug"\ntime = "2h"\n')
    before = len(jobs_recorded())
    rc, out, err = qe(["submit", seed_copy(case), "--backend", "slurm", "--config", bad])
    check(case, rc == 2, f"exit {rc}")
    check(case, f"{bad}:3: slurm.time: '2h' is not a time limit" in err, f"stderr:\n{err}")
    check(case, len(jobs_recorded()) == before, "a job was recorded")


def unknown_partition(case):
    jobs_in_slurm = cluster.run(["squeue", "--noheader", "--states=all", "--format=%i"]).stdout.split()
    rc, out, err = qe(["submit", seed_copy(case), "--backend", "slurm", "--partition", "nope"])
    check(case, rc == 1, f"exit {rc}")
    check(case, "sbatch refused the job (exit code 1):\nsbatch: error: invalid partition specified: nope\n"
                "sbatch: error: Batch job submission failed: Invalid partition name specified" in err, f"stderr:\n{err}")
    job = jobs_recorded()[0]
    check(case, job["state"] == "failed" and "Invalid partition name" in job["message"], f"recorded {job}")
    rec = job_record(job["job_id"])
    check(case, "queued" not in [t["state"] for t in rec["transitions"]], f"recorded as submitted: {rec['transitions']}")
    after = cluster.run(["squeue", "--noheader", "--states=all", "--format=%i"]).stdout.split()
    check(case, after == jobs_in_slurm, f"Slurm has a new job: {after} vs {jobs_in_slurm}")


def no_sbatch(case):
    empty = os.path.join(cluster.shared, "empty-path")
    os.makedirs(empty, exist_ok=True)
    before = len(jobs_recorded())
    rc, out, err = qe(["submit", seed_copy(case), "--backend", "slurm"], env=cluster.env(PATH=empty))
    # (PATH has no sbatch, nor anything else: qecloud needs none of it to refuse.)
    check(case, rc == 2, f"exit {rc}")
    check(case, "sbatch not found in PATH" in err, f"stderr:\n{err}")
    check(case, len(jobs_recorded()) == before, "a job was recorded")


CASES = {"three_nodes": three_nodes, "time_limit": time_limit, "cancel_running": cancel_running,
         "cancel_pending": cancel_pending, "bad_config": bad_config, "unknown_partition": unknown_partition,
         "no_sbatch": no_sbatch}


def leftovers(conf):
    """Namespaces of this harness, and processes it started (daemons, job steps, agents, orted, pw.x: all carry
    its SLURM_CONF) that are still alive."""
    left = [n for n in slurm_harness.ours() if n.startswith(f"qs{os.getpid()}")]
    needle = f"SLURM_CONF={conf}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            stat = open(f"/proc/{pid}/stat").read()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in env and stat[stat.rfind(")") + 2] != "Z":
            left.append(f"{pid}: {cmd[:100]}")
    return left


def run_case(name):
    print(f"case {name}", flush=True)
    failed_before = len(failures)
    try:
        CASES[name](name)
    except Exception as e:  # a crash in one case must not hide the others
        check(name, False, f"{type(e).__name__}: {e}")
    if len(failures) == failed_before:
        passed.append(name)
        print(f"  ok {name}", flush=True)


def main():
    global cluster
    t0 = time.time()
    slurm_harness.stale()
    try:
        cluster = slurm_harness.SlurmCluster(nodes=3, cpus=2, tmp_shares=[QECLOUD])
        with open(os.path.join(cluster.home, "qecloud.toml"), "w") as f:
            f.write('[slurm]\npartition = "debug"\nsignal_margin = 10\n')
        print(f"Slurm up in {time.time() - t0:.1f} s: 3 slurmd nodes", flush=True)
        for name in [n for n in CASES if not ONLY or n in ONLY]:
            run_case(name)
    except Exception as e:
        failures.append(f"harness: {type(e).__name__}: {e}")
    finally:
        conf = cluster.conf if cluster else ""
        if cluster:
            cluster.close()
        left = leftovers(conf) if conf else []
        check("cleanup", not left, f"left behind: {left}")
    print(f"\nsuite time {time.time() - t0:.0f} s\n{len(passed)} passed, {len(failures)} failed")
    print("".join(f"FAIL: {f}\n" for f in failures), end="", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
