#!/usr/bin/python3
"""`qecloud run` end to end with real pw.x: scf (the seed), relax, metal, spin-polarised, a non-converging
SCF, an invalid input (nothing may run), SIGTERM mid-run (clean stop, restart data in the store) and two runs
at once (both recorded). Each case uses a fresh $QECLOUD_HOME.
Usage: run_tests.py QECLOUD_BINARY SOURCE_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cases import Cases

QECLOUD, SRC = sys.argv[1], sys.argv[2]
PP = "/usr/share/espresso/pseudo"
for tool in ("pw.x", "mpirun"):
    if not shutil.which(tool):
        sys.exit(f"FAIL: {tool} not found")

WORK = tempfile.mkdtemp(prefix="qecloud-run-")
cases = Cases(WORK)
check, case, home_for = cases.check, cases.case, cases.home_for


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def si(calc="scf", x="0.25", extra="", electrons="", k="2 2 2 0 0 0"):
    return f"""&control
  calculation='{calc}', prefix='si{calc}', pseudo_dir='{PP}', outdir='./out', tprnfor=.true.
/
&system
  ibrav=2, celldm(1)=10.20, nat=2, ntyp=1, ecutwfc=14.0
/
&electrons
  conv_thr=1.0d-8 {electrons}
/
{extra}ATOMIC_SPECIES
 Si 28.086 Si.pz-vbc.UPF
ATOMIC_POSITIONS {{crystal}}
 Si 0.00 0.00 0.00
 Si {x} 0.25 0.25
K_POINTS automatic
{k}
"""


def run(case, args, home, **kw):
    env = dict(os.environ, QECLOUD_HOME=home)
    return subprocess.run([QECLOUD, "run"] + args + ["--json"], capture_output=True, text=True, env=env, **kw)


def qecloud(home, *args):
    env = dict(os.environ, QECLOUD_HOME=home)
    return subprocess.run([QECLOUD] + list(args), capture_output=True, text=True, env=env)


def seed_dir(name):
    """A fresh copy of the seed's silicon case (scf.in and its pseudopotential) in its own directory."""
    d = os.path.join(WORK, name)
    os.makedirs(d)
    for f in ("scf.in", "Si.pz-vbc.UPF"):
        shutil.copy(os.path.join(SRC, "examples", "si", f), d)
    return d


def start_until(args, env, marker):
    """Starts `qecloud ARGS…` and reads its stderr until a line holds `marker`; returns (process, what it read)."""
    p = subprocess.Popen([QECLOUD] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = ""
    while marker not in seen:
        line = p.stderr.readline()
        if not line:
            break
        seen += line
    return p, seen


@case
def seed_scf(name, home):
    seed = seed_dir("seed")
    r = run(name, [os.path.join(seed, "scf.in")], home)
    check(name, r.returncode == 0, f"exit {r.returncode}: {r.stderr[-500:]}")
    d = json.loads(r.stdout)
    check(name, d["state"] == "succeeded", f"state {d['state']}")
    check(name, "%.8f" % d["results"]["total_energy_ry"] == "-15.84473648", f"E {d['results']['total_energy_ry']}")
    cores = min(2, os.cpu_count())
    check(name, d["layout"]["ranks"] == cores, f"ranks {d['layout']}")
    check(name, d["layout"]["pools"] == cores, f"pools {d['layout']}")
    check(name, "SCF iteration" in r.stderr and "layout:" in r.stderr, "progress on stderr")
    out = d["outputs"].replace("file://", "")
    for f in ("input/scf.in", "input/Si.pz-vbc.UPF", "output/pw.out", "output/results.json",
              "output/silicon.save/data-file-schema.xml"):
        check(name, os.path.exists(os.path.join(out, f)), f"store has {f}")
    lst = json.loads(qecloud(home, "list", "--json").stdout)
    check(name, [j["job_id"] for j in lst] == [d["job_id"]], "list finds the job")
    show = qecloud(home, "show", d["job_id"][:17], "--plot", os.path.join(WORK, "scf.png"))
    check(name, show.returncode == 0 and "-15.84473648" in show.stdout, f"show: {show.stdout} {show.stderr}")
    check(name, os.path.getsize(os.path.join(WORK, "scf.png")) > 5000, "plot written")


@case
def relax(name, home):
    r = run(name, [write("relax.in", si("relax", x="0.27", extra="&ions\n/\n"))], home)
    d = json.loads(r.stdout)
    check(name, r.returncode == 0 and d["state"] == "succeeded", f"exit {r.returncode} {d['state']}")
    check(name, len(d["results"]["steps"]) >= 2, "several ionic steps")
    check(name, "ionic step" in r.stderr, "ionic steps shown in progress")


@case
def metal(name, home):
    text = f"""&control
  calculation='scf', prefix='al', pseudo_dir='{PP}', outdir='./'
/
&system
  ibrav=2, celldm(1)=7.50, nat=1, ntyp=1, ecutwfc=15.0, occupations='smearing', smearing='mv', degauss=0.05
/
&electrons
/
ATOMIC_SPECIES
 Al 26.98 Al.pz-vbc.UPF
ATOMIC_POSITIONS {{alat}}
 Al 0.0 0.0 0.0
K_POINTS automatic
6 6 6 1 1 1
"""
    r = run(name, [write("al.in", text)], home)
    d = json.loads(r.stdout)
    check(name, r.returncode == 0 and d["results"].get("fermi_energy_ev") is not None, f"exit {r.returncode}")


@case
def spin(name, home):
    text = f"""&control
  calculation='scf', prefix='ni', pseudo_dir='{PP}', outdir='./'
/
&system
  ibrav=2, celldm(1)=6.65, nat=1, ntyp=1, ecutwfc=24.0, ecutrho=288.0, nspin=2,
  starting_magnetization(1)=0.7, occupations='smearing', smearing='mv', degauss=0.02
/
&electrons
  conv_thr=1.0d-6, mixing_beta=0.3
/
ATOMIC_SPECIES
 Ni 58.69 Ni.pz-nd-rrkjus.UPF
ATOMIC_POSITIONS {{alat}}
 Ni 0.0 0.0 0.0
K_POINTS automatic
4 4 4 1 1 1
"""
    r = run(name, [write("ni.in", text)], home)
    d = json.loads(r.stdout)
    check(name, r.returncode == 0 and d["results"].get("magnetization", {}).get("total") is not None,
          f"exit {r.returncode}, {d['results'].get('magnetization')}")


@case
def not_converged(name, home):
    r = run(name, [write("nc.in", si(electrons=", electron_maxstep=2, conv_thr=1.0d-12"))], home)
    d = json.loads(r.stdout)
    check(name, r.returncode == 4, f"exit {r.returncode}")
    check(name, d["state"] == "not_converged" and d["results"]["error_kind"] == "scf_not_converged", d["state"])
    check(name, "total_energy_ry" not in d["results"], "no final energy for a non-converged run")
    # Automatic recovery restarted it from its charge density three times (2 iterations each cannot reach
    # 1e-12 Ry: measured 4.8e-3, 1.8e-5, 2.2e-7, 2.4e-10), then gave up and said so.
    check(name, d["message"].endswith("; gave up: 3 recoveries are the most a job gets"), d["message"])


@case
def invalid_input(name, home):
    r = run(name, [write("bad.in", si().replace("ecutwfc", "ecutwf"))], home)
    check(name, r.returncode == 3, f"exit {r.returncode}")
    check(name, "did you mean 'ecutwfc'" in r.stderr, "the error is shown")
    d = json.loads(r.stdout)
    check(name, d["state"] == "invalid", d["state"])
    check(name, not os.path.exists(os.path.join(home, "work")), "nothing was staged or run")
    jobs = json.loads(qecloud(home, "list", "--json").stdout)
    check(name, len(jobs) == 1 and jobs[0]["state"] == "invalid", "the refusal is recorded")


@case
def sigterm_mid_run(name, home):
    # Dense k-points so pw.x is still iterating when the signal arrives.
    path = write("long.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12"))
    env = dict(os.environ, QECLOUD_HOME=home)
    p, seen = start_until(["run", path, "--json"], env, "SCF iteration")
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    check(name, p.returncode == -signal.SIGTERM, f"exit {p.returncode} (expected death by SIGTERM)")
    check(name, time.time() - t0 < 30, f"stopped in {time.time() - t0:.1f} s")
    d = json.loads(out)
    check(name, d["state"] == "stopped" and d["results"]["error_kind"] == "stopped_by_user", d["state"])
    store = d["outputs"].replace("file://", "")
    save = os.path.join(store, "output", "siscf.save")
    check(name, os.path.isdir(save) and os.listdir(save), "restart data in the store")
    check(name, os.path.exists(os.path.join(store, "output", "pw.out")), "pw.out in the store")
    show = json.loads(qecloud(home, "show", d["job_id"], "--json").stdout)
    check(name, [t["state"] for t in show["transitions"]] == ["created", "running", "stopped"], "transitions")


def stored_files(job_url):
    """Every file under a job's output/ in a file:// store, with its size."""
    root = os.path.join(job_url.replace("file://", ""), "output")
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            out[os.path.relpath(path, root)] = os.path.getsize(path)
    return out


def stop_at(home, path, marker, *options):
    """Runs PATH until stderr shows MARKER, then SIGTERM (as Ctrl-C or a scheduler would): the stopped job."""
    env = dict(os.environ, QECLOUD_HOME=home)
    p, _ = start_until(["run", path, "--json", *options], env, marker)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    return json.loads(out), err


@case
def sigterm_then_resume(name, home):
    # Stopped mid-SCF, resumed from the store alone: the same energy as the run that was never stopped, the
    # stopped job's stored files untouched, and both attempts in `show`.
    path = write("resume.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12"))
    ref = json.loads(run(name, [path, "-q"], home).stdout)
    stopped, err = stop_at(home, path, "SCF iteration   2")
    check(name, stopped["state"] == "stopped", stopped["state"])
    check(name, "restart data stored:" in err and ", whole" in err, err[-400:])
    before = stored_files(stopped["outputs"])
    check(name, any(f.startswith("siscf.wfc") for f in before) and "restart.json" in before,
          f"per-rank restart files in the store: {sorted(before)}")
    shutil.rmtree(os.path.join(home, "work"))  # nothing local: the store alone must do
    r = qecloud(home, "resume", stopped["job_id"], "--json")
    check(name, r.returncode == 0, f"exit {r.returncode}: {r.stderr[-800:]}")
    d = json.loads(r.stdout)
    e, e_ref = d["results"]["total_energy_ry"], ref["results"]["total_energy_ry"]
    check(name, abs(e - e_ref) < 1e-8, f"resumed E {e} vs uninterrupted {e_ref}")
    check(name, "restarted from scf iteration" in open(os.path.join(
        d["outputs"].replace("file://", ""), "output", "pw.out")).read(), "pw.x continued, not from scratch")
    check(name, (d["layout"]["ranks"], d["layout"]["pools"]) == (stopped["layout"]["ranks"],
                                                                 stopped["layout"]["pools"]), "layout kept")
    check(name, stored_files(stopped["outputs"]) == before, "the stopped job's stored files are untouched")
    show = json.loads(qecloud(home, "show", d["job_id"], "--json").stdout)
    check(name, [(a["job_id"], a["state"]) for a in show["attempts"]] ==
          [(stopped["job_id"], "stopped"), (d["job_id"], "succeeded")], show["attempts"])
    check(name, show["resumed_from"] == stopped["job_id"], show["resumed_from"])
    text = qecloud(home, "show", stopped["job_id"]).stdout
    check(name, "attempts" in text and f"{stopped['job_id']} (stopped, this one)" in text and
          f"{d['job_id']} (succeeded), resumes {stopped['job_id']}" in text, text)
    again = qecloud(home, "resume", stopped["job_id"])
    check(name, again.returncode == 2 and f"was resumed by job {d['job_id']}, which succeeded" in again.stderr,
          f"a job already resumed to the end is not run again: {again.stderr}")


@case
def absolute_outdir_resumes(name, home):
    # A scratch outdir outside the job: the resumed job reads the restart data from its own directory.
    scratch = os.path.join(WORK, "scratch-" + name)
    path = write("abs.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12").replace(
        "outdir='./out'", f"outdir='{scratch}'"))
    stopped, err = stop_at(home, path, "SCF iteration   2")
    check(name, stopped["state"] == "stopped" and "qecloud resume" in stopped["message"], stopped["message"])
    r = qecloud(home, "resume", stopped["job_id"], "--json")
    check(name, r.returncode == 0, f"exit {r.returncode}: {r.stderr[-800:]}")
    d = json.loads(r.stdout)
    out = open(os.path.join(d["outputs"].replace("file://", ""), "output", "pw.out")).read()
    check(name, "restarted from scf iteration" in out, "pw.x continued, not from scratch")
    check(name, "outdir = './qecloud-outdir/'" in r.stderr or "qecloud-outdir" in json.dumps(
        json.loads(qecloud(home, "show", d["job_id"], "--json").stdout)["transitions"]), "the edit is recorded")


@case
def relax_resumes_between_ionic_steps(name, home):
    # Stopped once the second ionic step began; the resumed run continues from the last completed geometry
    # and reaches the uninterrupted run's final energy and positions.
    text = si("relax", x="0.27", extra="&ions\n/\n", k="6 6 6 0 0 0").replace("ecutwfc=14.0", "ecutwfc=24.0")
    path = write("relax-resume.in", text)
    ref = json.loads(run(name, [path, "-q"], home).stdout)["results"]
    stopped, _ = stop_at(home, path, "ionic step 2")
    check(name, stopped["state"] == "stopped", stopped["state"])
    r = qecloud(home, "resume", stopped["job_id"], "--json")
    check(name, r.returncode == 0, f"exit {r.returncode}: {r.stderr[-800:]}")
    got = json.loads(r.stdout)["results"]
    check(name, abs(got["total_energy_ry"] - ref["total_energy_ry"]) < 1e-8,
          f"E {got['total_energy_ry']} vs {ref['total_energy_ry']}")
    worst = max(abs(a - b) for p, q in zip(got["steps"][-1]["positions"], ref["steps"][-1]["positions"])
                for a, b in zip(p, q))
    check(name, worst < 1e-6, f"final positions differ by {worst}")


@case
def resume_refusals(name, home):
    # What cannot be resumed says why, and records nothing new.
    done = json.loads(run(name, [write("done.in", si())], home).stdout)["job_id"]
    r = qecloud(home, "resume", done)
    check(name, r.returncode == 2 and "succeeded: there is nothing to resume" in r.stderr, r.stderr)
    bad = json.loads(run(name, [write("bad.in", si().replace("ecutwfc", "ecutwfcx"))], home).stdout)["job_id"]
    r = qecloud(home, "resume", bad)
    check(name, r.returncode == 2 and "invalid" in r.stderr, r.stderr)
    stopped, _ = stop_at(home, write("gone.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12")),
                         "SCF iteration")
    r = qecloud(home, "resume", stopped["job_id"], "--ranks", "1")
    check(name, r.returncode == 2 and "keeps job" in r.stderr, r.stderr)
    env = dict(os.environ, QECLOUD_HOME=home)
    p, _ = start_until(["run", write("torn.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12")),
                        "--json", "--grace", "0"], env, "SCF iteration")
    p.send_signal(signal.SIGTERM)
    killed = json.loads(p.communicate(timeout=120)[0])
    r = qecloud(home, "resume", killed["job_id"])
    # Killed at once, pw.x has written no restart file, or some it may have torn: refused either way, saying why.
    check(name, r.returncode == 1 and ("left no restart data" in r.stderr and "killed" in r.stderr or
                                       "is not whole (pw.x was killed after its grace period" in r.stderr),
          f"a pw.x killed at once (--grace 0) leaves nothing to resume, and resume says why: {r.stderr}")
    os.remove(os.path.join(stopped["outputs"].replace("file://", ""), "output", "restart.json"))
    r = qecloud(home, "resume", stopped["job_id"])
    check(name, r.returncode == 1 and "left no restart data" in r.stderr, r.stderr)
    jobs = json.loads(qecloud(home, "list", "--json").stdout)
    check(name, len(jobs) == 4, f"{len(jobs)} jobs recorded: nothing new for a refused resume")
    # More ranks than this machine's cores (they were oversubscribed): "use fewer ranks" cannot be followed.
    many = str((os.cpu_count() or 1) + 1)
    crowded, _ = stop_at(home, write("crowded.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12")),
                         "SCF iteration", "--ranks", many, "--oversubscribe")
    r = qecloud(home, "resume", crowded["job_id"])
    check(name, r.returncode == 2 and f"job {crowded['job_id']}'s restart data was written by {many} ranks and "
          "pw.x needs the same; add --oversubscribe" in r.stderr, r.stderr)


@case
def two_runs_at_once(name, home):
    a = write("a.in", si())
    b = write("b.in", si().replace("prefix='siscf'", "prefix='sib'"))
    env = dict(os.environ, QECLOUD_HOME=home)
    procs = [subprocess.Popen([QECLOUD, "run", f, "--ranks", "1", "--json", "-q"], stdout=subprocess.PIPE,
                              text=True, env=env) for f in (a, b)]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    check(name, all(p.returncode == 0 for p in procs), [p.returncode for p in procs])
    ids = {o["job_id"] for o in outs}
    jobs = json.loads(qecloud(home, "list", "--json").stdout)
    check(name, len(ids) == 2 and {j["job_id"] for j in jobs} == ids, "both recorded")
    check(name, all(j["state"] == "succeeded" for j in jobs), [j["state"] for j in jobs])


def pw_processes_under(path):
    """pw.x and mpirun processes whose working directory is below `path` (a job's work directory)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(path) and os.path.basename(cmd) in ("pw.x", "mpirun", "orterun"):
            found.append(f"{pid} {cmd}")
    return found


def wait_for(cond, limit=60, every=0.2):
    deadline = time.time() + limit
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(every)
    return cond()


@case
def stored_input_reruns_as_it_is(name, home):
    # The seed layout (pseudo_dir='./') and one whose pseudo_dir points up and across ('../../pseudo'):
    # the store's input/ reruns with `qecloud run` as it is, to the same energy.
    seed = seed_dir("rerun-seed")
    up = os.path.join(WORK, "rerun-up")
    os.makedirs(os.path.join(up, "runs", "si"))
    os.makedirs(os.path.join(up, "pseudo"))
    shutil.copy(os.path.join(SRC, "examples", "si", "Si.pz-vbc.UPF"), os.path.join(up, "pseudo"))
    with open(os.path.join(SRC, "examples", "si", "scf.in")) as f:
        text = f.read().replace("pseudo_dir = './'", "pseudo_dir = '../../pseudo'")
    assert "../../pseudo" in text
    with open(os.path.join(up, "runs", "si", "scf.in"), "w") as f:
        f.write(text)
    for first, rel in ((os.path.join(seed, "scf.in"), "scf.in"),
                       (os.path.join(up, "runs", "si", "scf.in"), "runs/si/scf.in")):
        r = run(name, [first, "-q"], home)
        d = json.loads(r.stdout)
        check(name, d["state"] == "succeeded", f"first run of {first}: {d['state']} {r.stderr[-300:]}")
        stored = os.path.join(d["outputs"].replace("file://", ""), "input", rel)
        check(name, os.path.exists(stored), f"the store has input/{rel}")
        again = run(name, [stored, "-q"], home)
        d2 = json.loads(again.stdout)
        check(name, again.returncode == 0 and d2["state"] == "succeeded", f"rerun of {stored}: {again.stderr[-400:]}")
        check(name, abs(d2["results"]["total_energy_ry"] - d["results"]["total_energy_ry"]) < 1e-8,
              f"rerun energy {d2['results'].get('total_energy_ry')} vs {d['results'].get('total_energy_ry')}")


@case
def killed_run_is_lost(name, home):
    # `kill -9` of a running `qecloud run` (the OOM killer, a reboot): the next `list` says lost, not running,
    # and pw.x does not run on unsupervised.
    path = write("killed.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12"))
    env = dict(os.environ, QECLOUD_HOME=home)
    p, _ = start_until(["run", path, "--json"], env, "SCF iteration")
    p.kill()
    p.wait()
    jobs = json.loads(qecloud(home, "list", "--json").stdout)
    check(name, len(jobs) == 1 and jobs[0]["state"] == "lost",
          f"after kill -9: {[(j['state'], j['message']) for j in jobs]}")
    check(name, "pid" in jobs[0]["message"] and "gone" in jobs[0]["message"], jobs[0]["message"])
    check(name, len(jobs[0]["results"].get("scf_accuracy_ry", [])) >= 1 and "SCF iteration" in jobs[0]["message"],
          f"what pw.out showed is kept: {jobs[0]['message']}")
    work = os.path.join(home, "work", jobs[0]["job_id"])
    check(name, wait_for(lambda: not pw_processes_under(work), 60), f"pw.x left running: {pw_processes_under(work)}")
    show = json.loads(qecloud(home, "show", jobs[0]["job_id"], "--json").stdout)
    check(name, [t["state"] for t in show["transitions"]][-1] == "lost", show["transitions"])


@case
def runs_share_the_cores(name, home):
    # Three runs at once on this machine: the cores are shared out through the ledger, never
    # oversubscribed; the ones that wait say so, with their place.
    ledger = os.path.join(WORK, "ledger-" + name)
    env = dict(os.environ, QECLOUD_HOME=home, QECLOUD_CORE_LEDGER=ledger)
    files = [write(f"share{i}.in", si(k="4 4 4 0 0 0").replace("prefix='siscf'", f"prefix='s{i}'")) for i in range(3)]
    procs = [subprocess.Popen([QECLOUD, "run", f, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for f in files]
    cores = os.cpu_count()
    most = 0
    while any(p.poll() is None for p in procs):
        ranks = len([x for x in pw_processes_under(os.path.join(home, "work")) if x.split()[1].endswith("pw.x")])
        most = max(most, ranks)
        time.sleep(0.05)
    outs = [p.communicate() for p in procs]
    check(name, all(p.returncode == 0 for p in procs), [(p.returncode, e[-300:]) for p, (o, e) in zip(procs, outs)])
    check(name, most <= cores, f"{most} pw.x ranks at once on {cores} cores")
    check(name, any("waiting for" in e and "place" in e for _, e in outs), "no run said it was waiting")


@case
def stop_while_waiting_for_cores(name, home):
    # SIGTERM before pw.x started (waiting for cores, validating, staging) stops the job: recorded as
    # stopped, the exit status says SIGTERM.
    ledger = os.path.join(WORK, "ledger-" + name)
    holder = subprocess.Popen(["sleep", "120"])
    with open(f"/proc/{holder.pid}/stat") as f:
        ticks = f.read().rsplit(")", 1)[1].split()[19]
    with open(ledger, "w") as f:
        f.write(f"{holder.pid} {ticks} 1 {os.cpu_count()} g someone-else\n")
    env = dict(os.environ, QECLOUD_HOME=home, QECLOUD_CORE_LEDGER=ledger)
    p, seen = start_until(["run", write("wait.in", si()), "--json"], env, "waiting for")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    holder.kill()
    check(name, p.returncode == -signal.SIGTERM, f"exit {p.returncode}: {seen + err}")
    d = json.loads(out)
    check(name, d["state"] == "stopped" and "before pw.x started" in d["message"], d)
    jobs = json.loads(qecloud(home, "list", "--json").stdout)
    check(name, jobs[0]["state"] == "stopped", jobs[0])


@case
def full_store_is_named(name, home):
    # A store on a full disk: the run still ends, and the record says which outputs were not stored.
    tiny = os.path.join(WORK, "tiny-store")
    os.makedirs(tiny)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", tiny], check=True)
    try:
        r = run(name, [write("full.in", si()), "--store", "file://" + tiny], home)
        d = json.loads(r.stdout)
        check(name, r.returncode != 0, f"exit {r.returncode} although outputs were lost")
        check(name, "not stored:" in d["message"] and "No space left on device" in d["message"]
              and "siscf.save" in d["message"], d["message"][:600])
        jobs = json.loads(qecloud(home, "list", "--json").stdout)
        check(name, jobs[0]["message"] == d["message"], "the record says the same")
        halves = [os.path.join(dp, f) for dp, _, fs in os.walk(tiny) for f in fs if ".partial-" in f]
        check(name, not halves, f"half-written files left in the store: {halves[:5]}")
    finally:
        subprocess.run(["umount", "-l", tiny])


@case
def full_home_is_named(name, home):
    # $QECLOUD_HOME on a full disk (work directory, store and job database): the run still ends and says
    # which files were cut short, which outputs were not stored, and that the record could not be written.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", home], check=True)
    try:
        seed = seed_dir("full-home-seed")
        r = run(name, [os.path.join(seed, "scf.in")], home)
        check(name, r.returncode == 1, f"exit {r.returncode}")
        d = json.loads(r.stdout) if r.stdout.strip() else {"message": r.stderr}
        for want in ("pw.out: No space left on device", "not stored:", "not recorded:", home):
            check(name, want in d["message"], f"'{want}' not in: {d['message'][:800]}")
    finally:
        subprocess.run(["umount", "-l", home])


@case
def local_status_logs_fetch_cancel(name, home):
    # The commands that follow a job work for local runs too, through the backend table.
    path = write("follow.in", si(k="12 12 12 0 0 0", electrons=", conv_thr=1.0d-12"))
    env = dict(os.environ, QECLOUD_HOME=home)
    p, _ = start_until(["run", path, "--json"], env, "SCF iteration")
    job = json.loads(qecloud(home, "list", "--json").stdout)[0]["job_id"]
    st = json.loads(qecloud(home, "status", job, "--json").stdout)
    check(name, st["state"] == "running" and st["backend"] == "local", st)
    logs = qecloud(home, "logs", job)
    check(name, logs.returncode == 0 and "[node 0]" in logs.stdout and "Program PWSCF" in logs.stdout,
          logs.stdout[-300:] + logs.stderr)
    c = qecloud(home, "cancel", job)
    check(name, c.returncode == 0, c.stderr)
    out, err = p.communicate(timeout=120)
    d = json.loads(out)
    check(name, d["state"] == "stopped", d["state"])
    dest = os.path.join(WORK, "fetched-" + name)
    f = qecloud(home, "fetch", job, "--to", dest)
    check(name, f.returncode == 0 and os.path.exists(os.path.join(dest, "pw.out")), f.stdout + f.stderr)
    again = qecloud(home, "cancel", job)
    check(name, again.returncode != 0 and "not running" in again.stderr, again.stderr)


cases.finish("qecloud run")
