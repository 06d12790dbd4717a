#!/usr/bin/python3
"""`qecloud run --nodes N`: network-namespace "hosts" on an isolated bridge, each running a real
`qecloud agent` with AWS Batch's multi-node environment; real OpenMPI launches through the agents (no sshd),
real pw.x computes across all nodes.

Cases: three_nodes (energy equals the single-node run with the same layout to 1e-8 Ry, every node's
address in mpirun's rank map, logs stored), no_start (deadline error naming the node), wrong_secret (join
refused, no secret in any log), kill_agent and link_down (job non-zero within 15 s of the fault), main_lost (children leave by themselves), pw_fails
(pw.x rejects the input at run time: non-zero, logs stored), not_root (clear error, nothing created),
isolated_nodes (rehearse-nodes with isolated bridge ports: node 1 cannot reach node 0; without, it can),
batch_stop (AWS Batch's stop mid-SCF: SIGTERM to every node, SIGKILL 30 s later; every node's restart files in
the store before it, the manifest whole, the report listing them with sizes; then `qecloud resume` on 3 nodes
ends at the energy of an uninterrupted 3-node run to 1e-8 Ry, pw.x continuing its SCF, the stopped job's stored
files unchanged, both attempts in `show`).
After every case: no namespace, bridge or agent/orted/pw.x process may be left behind.

Usage: cluster_tests.py QECLOUD_BINARY SOURCE_DIR [CASE…]   (needs root, iproute2, pw.x, mpirun)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

QECLOUD, SRC = os.path.abspath(sys.argv[1]), sys.argv[2]
ONLY = sys.argv[3:]
SEED = os.path.join(SRC, "examples", "si")
failures, passed = [], []

if os.geteuid() != 0:
    sys.exit("FAIL: the cluster tests need root (network namespaces); CI runs them as root")
for tool in ("ip", "pw.x", "mpirun", "setpriv"):
    if not shutil.which(tool):
        sys.exit(f"FAIL: {tool} not found")

# Under /tmp on purpose: each node has a private /tmp, into which only the store and the binary are bound.
WORK = tempfile.mkdtemp(prefix="qecloud-cluster-", dir="/tmp")


def check(case, cond, what):
    if not cond:
        failures.append(f"{case}: {what}")
        print(f"  FAIL {case}: {what}", flush=True)
    return cond


def ours():
    d = "/var/run/netns"
    return sorted(n for n in (os.listdir(d) if os.path.isdir(d) else []) if re.fullmatch(r"qc\d+(h|n\d+)", n))


def live_processes():
    """Agents, orted and pw.x still alive in a network namespace other than this machine's own: what the
    rehearsal's nodes started (zombies waiting for init do not count; pw.x runs of other programs on this
    machine, in its own network namespace, are not ours)."""
    found = []
    host_net = os.readlink("/proc/self/ns/net")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if os.readlink(f"/proc/{pid}/ns/net") == host_net:
                continue
        except OSError:
            continue
        state = stat[stat.rfind(")") + 2]
        if state != "Z" and (re.search(r"qecloud agent|(^|/)orted |(^|/)pw\.x", cmd)):
            found.append(f"{pid}: {cmd[:100]}")
    return found


def seed_copy(name, ecutwfc=None, extra="", conv_thr=None):
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(SEED, "Si.pz-vbc.UPF"), d)
    text = open(os.path.join(SEED, "scf.in")).read()
    if ecutwfc:
        text = re.sub(r"ecutwfc\s*=\s*[\d.]+", f"ecutwfc={ecutwfc}", text)
    if extra:
        text = re.sub(r"nbnd\s*=\s*\d+", extra, text)
    if conv_thr:
        text = re.sub(r"conv_thr\s*=\s*[\d.dDeE+-]+", f"conv_thr={conv_thr}", text)
    path = os.path.join(d, "scf.in")
    with open(path, "w") as f:
        f.write(text)
    return path


def qecloud(case, args, timeout=300, user=None):
    env = dict(os.environ, QECLOUD_HOME=os.path.join(WORK, "home-" + case))
    cmd = [QECLOUD] + args
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    t0 = time.time()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    fault_at = None
    err_lines = []
    for line in p.stderr:  # live: the time of the injected fault is when its note appears
        err_lines.append(line)
        if "fault injected" in line and fault_at is None:
            fault_at = time.time()
    out = p.stdout.read()
    p.wait(timeout)
    end = time.time()
    return p.returncode, out, "".join(err_lines), (end - fault_at if fault_at else None), end - t0, env


def store_dir(env, job_id):
    return os.path.join(env["QECLOUD_HOME"], "store", "jobs", job_id, "output")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def three_nodes(case):
    inp = seed_copy(case)
    rc, out, err, _, wall, env = qecloud(case, ["run", "--nodes", "3", "--json", inp])
    if not check(case, rc == 0, f"exit {rc}\n{err[-3000:]}"):
        return
    res = json.loads(out)
    e3 = res["results"]["total_energy_ry"]
    check(case, res["layout"]["nodes"] == 3 and res["layout"]["ranks"] == 3, f"layout {res['layout']}")
    # The same layout on one node: 3 ranks, 3 pools.
    rc1, out1, err1, *_ = qecloud(case + "-single", ["run", "--ranks", "3", "--pools", str(res["layout"]["pools"]),
                                                      "--oversubscribe", "--json", inp])
    if check(case, rc1 == 0, f"single-node run exit {rc1}\n{err1[-2000:]}"):
        e1 = json.loads(out1)["results"]["total_energy_ry"]
        check(case, abs(e3 - e1) <= 1e-8, f"3-node E {e3} vs single-node E {e1}")
        print(f"  {case}: 3 nodes E = {e3:.8f} Ry, one node E = {e1:.8f} Ry, wall {wall:.1f} s", flush=True)
    outdir = store_dir(env, res["job_id"])
    pw = read(os.path.join(outdir, "pw.out"))
    for host in ("node-0", "198.18.0.11", "198.18.0.12"):  # mpirun's rank map names every node
        check(case, re.search(rf"Data for node: {re.escape(host)}\s", pw), f"rank map lacks {host}")
    check(case, re.search(r"MPI processes distributed on\s+3 nodes", pw), "pw.x did not see 3 nodes")
    for f in ("node-0.log", "node-1.log", "node-2.log", "agent-main.log", "results.json", "hostfile", "agent.json"):
        check(case, os.path.exists(os.path.join(outdir, f)), f"{f} not stored")
    for i in (1, 2):
        log = read(os.path.join(outdir, f"node-{i}.log"))
        check(case, "the main ended the job (exit code 0)" in log, f"node {i} did not leave cleanly:\n{log}")
        check(case, f"node-{i}" in log, f"node {i} does not have its own hostname")


def no_start(case):
    inp = seed_copy(case)
    rc, out, err, _, wall, env = qecloud(case, ["run", "--nodes", "3", "--join-timeout", "5", "--inject-fault",
                                                "no-start:2", inp])
    check(case, rc != 0, "exit 0 although node 2 never started")
    check(case, "node 2 did not join within 5 s" in out + err, f"no deadline error naming node 2:\n{err[-2000:]}")
    check(case, wall < 30, f"took {wall:.1f} s")


def wrong_secret(case):
    inp = seed_copy(case)
    rc, out, err, _, wall, env = qecloud(case, ["run", "--nodes", "3", "--join-timeout", "5", "--inject-fault",
                                                "wrong-secret:1", inp])
    check(case, rc != 0, "exit 0 although node 1 had the wrong secret")
    check(case, re.search(r"refused a connection from 198\.18\.0\.11:\d+: .*signature does not match", err),
          f"the main did not log the refused join:\n{err[-2000:]}")
    check(case, "node 1 did not join" in out + err, "node 1 not named")
    job_id = re.search(r"job (\S+): ", out).group(1)
    outdir = store_dir(env, job_id)
    logs = "".join(read(os.path.join(outdir, f)) for f in os.listdir(outdir)) if os.path.isdir(outdir) else ""
    check(case, "join refused" in read(os.path.join(outdir, "node-1.log")), "node 1's log does not say it was refused")
    check(case, not re.search(r"\b[0-9a-f]{48}\b", logs + out + err), "a 48-hex-digit secret appears in a log")


def lost_node(case, fault):
    inp = seed_copy(case, ecutwfc="40.0")  # ~4 s of pw.x: the fault lands mid-run
    rc, out, err, after_fault, wall, env = qecloud(case, ["run", "--nodes", "3", "--inject-fault", fault, inp])
    check(case, rc != 0, f"exit 0 although a node was lost ({fault})")
    check(case, after_fault is not None, "the fault was never injected")
    if after_fault is not None:
        check(case, after_fault <= 15, f"the job ended {after_fault:.1f} s after the fault (limit 15 s)")
        print(f"  {case}: job ended {after_fault:.1f} s after the fault, exit {rc}", flush=True)
    check(case, re.search(r"node \d \(198\.18\.0\.1\d:\d+\) lost", out + err), f"no 'node … lost' reason:\n{err[-2000:]}")
    job_id = re.search(r"job (\S+): ", out).group(1)
    outdir = store_dir(env, job_id)
    for f in ("pw.out", "agent-main.log", "node-0.log", "agent.json"):
        check(case, os.path.exists(os.path.join(outdir, f)), f"{f} not stored after the failure")


def main_lost(case):
    inp = seed_copy(case, ecutwfc="40.0")
    rc, out, err, after_fault, wall, env = qecloud(case, ["run", "--nodes", "3", "--inject-fault", "kill-agent:0:1", inp])
    check(case, rc != 0, "exit 0 although the main node died")
    check(case, "the main node left no report" in out, f"no reason given:\n{out}")
    job_id = re.search(r"job (\S+): ", out).group(1)
    outdir = store_dir(env, job_id)
    for i in (1, 2):  # the children notice and leave by themselves
        log = read(os.path.join(outdir, f"node-{i}.log"))
        check(case, re.search(r"the main node is gone|no heartbeat from the main", log), f"node {i} did not notice:\n{log}")


def pw_fails(case):
    inp = seed_copy(case, ecutwfc="12.0", extra="nbnd=400")  # passes validation; pw.x: more bands than PWs
    rc, out, err, _, wall, env = qecloud(case, ["run", "--nodes", "2", inp])
    check(case, rc not in (0, None), f"exit {rc}")
    check(case, "more bands than PWs" in out, f"pw.x's error not reported:\n{out}")
    job_id = re.search(r"job (\S+): ", out).group(1)
    outdir = store_dir(env, job_id)
    for f in ("pw.out", "agent-main.log", "node-0.log", "node-1.log"):
        check(case, os.path.exists(os.path.join(outdir, f)), f"{f} not stored after pw.x failed")


def not_root(case):
    inp = seed_copy(case)
    os.chmod(WORK, 0o755)
    os.chmod(os.path.dirname(inp), 0o755)
    home = os.path.join(WORK, "home-" + case)
    os.makedirs(home, exist_ok=True)
    os.chown(home, 65534, 65534)
    rc, out, err, *_ = qecloud(case, ["run", "--nodes", "2", inp], user=65534)
    check(case, rc == 2, f"exit {rc} (want 2, a usage error)")
    check(case, "needs root" in err, f"no clear error:\n{err}")


def wrapper_and_grace(case):
    # `--pw` and `--grace` reach the main node through the node contract: the main runs the wrapper on every
    # node, and gives pw.x exactly that grace after a SIGTERM (the wrapper ignores the EXIT file, so the
    # grace runs out and pw.x is killed).
    inp = seed_copy(case, ecutwfc="40.0")
    wrapper = os.path.join(WORK, "pw-wrapper.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\necho \"qecloud-test-wrapper on $(hostname)\" >&2\n"
                "trap '' TERM\n"  # a pw.x stuck in a long step: only SIGKILL ends it
                "pw.x \"$@\" &\nwait $!\nexec sleep 600\n")
    os.chmod(wrapper, 0o755)
    env = dict(os.environ, QECLOUD_HOME=os.path.join(WORK, "home-" + case))
    p = subprocess.Popen([QECLOUD, "run", "--nodes", "3", "--pw", wrapper, "--grace", "5", inp], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    for line in p.stderr:
        seen += line
        if ": running " in line:
            break
    time.sleep(1)
    p.send_signal(15)
    out, err = p.communicate(timeout=120)
    err = seen + err
    check(case, re.search(r"running 3 ranks on 3 nodes, \d pools \(" + re.escape(wrapper) + r"; grace 5 s\)", err),
          f"the main did not run the wrapper with grace 5 s:\n{err[-2000:]}")
    check(case, "Terminated received: asking pw.x to stop (up to 5 s)" in err,
          f"no stop request with a 5 s grace:\n{err[-2000:]}")
    check(case, "did not stop in time: killed" in err, f"the grace did not run out into a kill:\n{err[-2000:]}")
    check(case, "Terminated received: SIGTERM to every node's agent, SIGKILL in 30 s" in err,
          f"the SIGTERM to run --nodes was not passed on to every node as Batch does:\n{err[-2000:]}")
    job_id = re.search(r"job (\S+): ", out).group(1)
    for i in (1, 2):
        log = read(os.path.join(store_dir(env, job_id), f"node-{i}.log"))
        check(case, "keeping the ranks here" in log and "the main ended the job" in log,
              f"node {i} did not keep serving after its SIGTERM:\n{log[-1500:]}")
    pw_err = read(os.path.join(store_dir(env, job_id), "pw.err"))
    for host in ("node-0", "node-1", "node-2"):
        check(case, f"qecloud-test-wrapper on {host}" in pw_err, f"the wrapper did not run on {host}:\n{pw_err[-1000:]}")


def stored_files(root):
    """name → bytes of every file under root (relative names)."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = os.path.getsize(p)
    return out


def batch_stop(case):
    # AWS Batch's stop mid-SCF (timeout, TerminateJob): SIGTERM to every node's agent at once, SIGKILL 30 s
    # later. The children keep their ranks until pw.x has stopped, every node stores its part of the restart
    # data, the manifest says whole, the report lists every file with its size — all before the SIGKILL.
    inp = seed_copy(case, ecutwfc="40.0", conv_thr="1e-12")  # ~15–25 s of SCF on 2 cores: stopped mid-SCF
    rc, out, err, after_fault, wall, env = qecloud(case, ["run", "--nodes", "3", "--inject-fault", "terminate:all:6",
                                                          "--json", inp])
    check(case, after_fault is not None, f"the stop was never injected:\n{err[-2000:]}")
    check(case, rc == 5, f"exit {rc} (want 5, stopped)\n{err[-3000:]}")
    res = json.loads(out) if out.strip().startswith("{") else {}
    check(case, res.get("state") == "stopped", f"state {res.get('state')}: {res.get('message')}")
    ended = re.search(r"the main node ended ([\d.]+) s after the SIGTERM", err)
    check(case, ended and float(ended.group(1)) < 30, f"the main did not end before the SIGKILL:\n{err[-2000:]}")
    outdir = store_dir(env, res.get("job_id", ""))
    main_log = read(os.path.join(outdir, "agent-main.log"))
    check(case, re.search(r"Terminated at [\d:.]+ UTC \(t\): SIGKILL expected at t\+30 s; pw\.x may take until "
                          r"t\+15 s, every node's restart data until t\+27 s", main_log),
          f"the deadlines were not logged:\n{main_log[-2000:]}")
    pw = read(os.path.join(outdir, "pw.out"))
    check(case, "convergence has been achieved" not in pw, "pw.x converged before the stop: not mid-SCF")
    manifest = json.loads(read(os.path.join(outdir, "restart.json")) or "{}")
    check(case, manifest.get("complete") is True, f"restart set not whole: {manifest.get('note')}")
    on_disk = stored_files(outdir)
    for p in manifest.get("parts", []):
        node = p["node"]
        for f in p["files"]:
            key = f["name"] if node == 0 else f"node-{node}/{f['name']}"
            check(case, on_disk.get(key) == f["bytes"], f"{key}: manifest says {f['bytes']} bytes, store has "
                                                          f"{on_disk.get(key)}")
    nodes = {p["node"] for p in manifest.get("parts", [])}
    check(case, nodes == {0, 1, 2}, f"parts from nodes {sorted(nodes)}")
    for name in ("silicon.wfc1", "silicon.mix1", "silicon.save/charge-density.dat", "silicon.save/data-file-schema.xml"):
        check(case, name in on_disk, f"node 0's {name} not stored")
    # pw.x writes <prefix>.restart_kN only when the stop finds it inside the k-point loop (c_bands), not when it
    # finds it at the SCF iteration's check: then no rank has one.
    kinds = ("wfc", "mix", "restart_scf") + (("restart_k",) if "silicon.restart_k" in on_disk else ())
    for i in (1, 2):  # rank i+1 (1-based) runs on node i: its per-rank files are only there
        for kind in kinds:
            check(case, f"node-{i}/silicon.{kind}{i + 1}" in on_disk, f"node {i}'s silicon.{kind}{i + 1} not stored")
        log = read(os.path.join(outdir, f"node-{i}.log"))
        check(case, "keeping the ranks here" in log and "stored " in log and "the main ended the job" in log,
              f"node {i} did not serve until DONE and store its part:\n{log[-1500:]}")
    report = json.loads(read(os.path.join(outdir, "agent.json")) or "{}").get("restart", {})
    check(case, report.get("complete") is True and len(report.get("nodes", [])) == 3
          and all("bytes" in f for n in report["nodes"] for f in n["files"]), f"the report's restart: {report}")
    took = re.search(r"([\d.]+) s after the Terminated: pw\.x stopped", err)
    per_node = {p["node"]: sum(f["bytes"] for f in p["files"]) for p in manifest.get("parts", [])}
    print(f"  {case}: the job ended {after_fault:.1f} s after the stop; main done {took.group(1) if took else '?'} s "
          f"after the SIGTERM (window 30 s); bytes per node {per_node}", flush=True)
    resume_on_three_nodes(case, inp, res.get("job_id", ""), env)


def resume_on_three_nodes(case, inp, stopped_id, env):
    # The stopped job resumed where it ran (netns, 3 nodes, its layout) ends at the energy of a 3-node run
    # that was never stopped; the stopped job's stored files are not touched and `show` lists both attempts.
    stopped_root = os.path.join(env["QECLOUD_HOME"], "store", "jobs", stopped_id)
    before = stored_files(stopped_root)
    rc, out, err, _, wall, _ = qecloud(case, ["resume", stopped_id, "--json"])
    if not check(case, rc == 0 and out.strip().startswith("{"), f"resume exit {rc}\n{err[-3000:]}"):
        return
    res = json.loads(out)
    check(case, res["layout"]["nodes"] == 3, f"resumed on {res['layout']}")
    pw = read(os.path.join(store_dir(env, res["job_id"]), "pw.out"))
    check(case, "restarted from scf iteration" in pw, f"pw.x did not continue the SCF:\n{pw[-1500:]}")
    check(case, stored_files(stopped_root) == before, "the stopped job's stored files changed")
    rc, out, err, *_ = qecloud(case, ["show", res["job_id"], "--json"])
    show = json.loads(out) if rc == 0 else {}
    check(case, [(a["job_id"], a["state"]) for a in show.get("attempts", [])] ==
          [(stopped_id, "stopped"), (res["job_id"], "succeeded")], f"attempts {show.get('attempts')}")
    rc, out, err, _, ref_wall, _ = qecloud(case + "-reference", ["run", "--nodes", "3", "--json", inp])
    if check(case, rc == 0, f"uninterrupted run exit {rc}\n{err[-2000:]}"):
        e, e_ref = res["results"]["total_energy_ry"], json.loads(out)["results"]["total_energy_ry"]
        check(case, abs(e - e_ref) <= 1e-8, f"resumed E {e} vs uninterrupted {e_ref}")
        print(f"  {case}: resumed E = {e:.10f} Ry in {wall:.1f} s, uninterrupted E = {e_ref:.10f} Ry in "
              f"{ref_wall:.1f} s", flush=True)


def killed_owner(case):
    # `kill -9` of `qecloud run --nodes` (OOM, reboot): `list` never says running; the main node finishes on
    # its own and its report, once stored, is what the record says.
    inp = seed_copy(case)
    home = os.path.join(WORK, "home-" + case)
    env = dict(os.environ, QECLOUD_HOME=home)
    p = subprocess.Popen([QECLOUD, "run", "--nodes", "2", inp], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if ": running " in line:
            break
    p.kill()
    p.wait()

    def listed():
        return json.loads(subprocess.run([QECLOUD, "list", "--json"], env=env, capture_output=True, text=True).stdout)[0]

    first = listed()
    check(case, first["state"] in ("lost", "succeeded"), f"right after kill -9: {first['state']} ({first['message']})")
    report = os.path.join(store_dir(env, first["job_id"]), "agent.json")
    deadline = time.time() + 120
    while not os.path.exists(report) and time.time() < deadline:
        time.sleep(0.5)
    later = listed()
    check(case, later["state"] == "succeeded" and "report says succeeded" in later["message"],
          f"after the main's report: {later['state']} ({later['message']})")
    check(case, abs(later["results"].get("total_energy_ry", 0) + 15.84473648) < 1e-8,
          later["results"].get("total_energy_ry"))
    # The rehearsal's owner died: its namespaces are left to the next `run --nodes`, which removes them;
    # here the test removes them itself.
    time.sleep(2)
    for name in ours():
        for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
            subprocess.run(["kill", "-9", pid])
    for name in ours():
        subprocess.run(["ip", "netns", "del", name])
    for pid in (x.split(":")[0] for x in live_processes()):
        subprocess.run(["kill", "-9", pid])


def isolated_nodes(case):
    # rehearse-nodes' "isolated" (a network whose security groups admit nothing between the nodes, as the
    # AWS Batch harness plays it): node 1 cannot reach node 0, while on an ordinary bridge it can. Debian's
    # python3, not a shim on PATH (pyenv's needs a working directory the node's private /tmp does not have).
    probe = ("import os, socket, time\n"
             "if os.environ['ROLE'] == 'listen':\n"
             "    s = socket.socket(); s.bind(('0.0.0.0', 7000)); s.listen(); time.sleep(4)\n"
             "else:\n"
             "    time.sleep(0.5)\n"
             "    try:\n"
             "        socket.create_connection(('198.18.0.10', 7000), timeout=2); print('reached')\n"
             "    except OSError as e:\n"
             "        print('unreachable', e)\n")
    for isolated in (False, True):
        logs = tempfile.mkdtemp(prefix=f"{case}-", dir=WORK)
        spec = os.path.join(logs, "spec.json")
        with open(spec, "w") as f:
            json.dump({"job_id": case, "nodes": 2, "command": ["/usr/bin/python3", "-c", probe],
                       "environment": {"PATH": "/usr/bin:/bin"}, "log_dir": logs, "isolated": isolated,
                       "node_environment": {"0": {"ROLE": "listen"}, "1": {"ROLE": "connect"}}}, f)
        r = subprocess.run([QECLOUD, "rehearse-nodes", "--spec", spec], capture_output=True, text=True, timeout=60)
        said = read(os.path.join(logs, "node-1.log"))
        want = "unreachable" if isolated else "reached"
        check(case, r.returncode == 0 and said.split(" ")[0].strip() == want,
              f"isolated={isolated}: exit {r.returncode}, node 1 said {said!r}\n{r.stderr[-1000:]}")


CASES = {
    "three_nodes": three_nodes,
    "isolated_nodes": isolated_nodes,
    "no_start": no_start,
    "wrong_secret": wrong_secret,
    "kill_agent": lambda c: lost_node(c, "kill-agent:1:1"),
    "link_down": lambda c: lost_node(c, "link-down:2:1"),
    "main_lost": main_lost,
    "pw_fails": pw_fails,
    "not_root": not_root,
    "wrapper_and_grace": wrapper_and_grace,
    "killed_owner": killed_owner,
    "batch_stop": batch_stop,
}


def main():
    before = ours()
    try:
        for name, fn in CASES.items():
            if ONLY and name not in ONLY:
                continue
            print(f"case {name}", flush=True)
            n = len(failures)
            try:
                fn(name)
            except Exception as e:  # a crash in one case must not hide the others
                failures.append(f"{name}: {type(e).__name__}: {e}")
                print(f"  FAIL {name}: {e}", flush=True)
            time.sleep(0.5)
            left = [n for n in ours() if n not in before]
            check(name, not left, f"namespaces left behind: {left}")
            procs = live_processes()
            check(name, not procs, f"processes left behind: {procs}")
            if len(failures) == n:
                passed.append(name)
                print(f"  ok {name}", flush=True)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print(f"\n{len(passed)} cases passed, {len(failures)} failures")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
