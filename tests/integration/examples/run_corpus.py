#!/usr/bin/python3
"""`qecloud validate` must judge every pw.x input of Debian's QE examples as Debian's pw.x 6.7 does, both ways.

Extracts the inputs with extract_inputs.py (see there: scripts are run with stand-ins for the QE programs, loose
input files are picked by content) and has Debian's pw.x read each one here (pwx.probe: run until its summary or
its error, which is where pw.x has read and checked the whole input). Then runs `qecloud validate --json
--run-dir D INPUT` from D, the directory pw.x ran in, with ESPRESSO_PSEUDO unset, HOME an empty directory and the
pw.x on PATH as the release to judge for, and compares the verdicts.

Evidence for pw.x's verdict, in three groups counted apart:
  here         pw.x read the input here, its pseudopotentials present: its verdict is the reference;
  reference    pw.x here stops before its own checks for want of a previous run's restart data (nscf, bands):
               the example's reference output says whether pw.x ran it;
  no-pseudo    a pseudopotential the input names is not on this machine (Debian ships only some): the reference
               output is the evidence, and qecloud's errors about not finding pseudopotentials are set aside.
               Without a reference output, pw.x here read the input up to the missing file: an acceptance by
               qecloud is compared, a refusal is listed as undetermined (pw.x's later checks did not run).
Pseudopotentials that Debian's pw.x finds only through Debian's own patch (a last look in
/usr/share/espresso/pseudo, even when pseudo_dir does not exist) are a deliberate departure: qecloud refuses a
pseudo_dir that does not exist; those errors are set aside too and the inputs counted.

Each input ends as agree, false accept (qecloud valid, pw.x refuses) or false refusal (the other way). A
disagreement listed in DEPARTURES (with its reason) is counted apart; any other fails the test, as does a
listed departure that no longer departs. Inputs with no evidence at all are listed. The counts are printed.
QE's own test-suite is not in Debian and nothing fetched from QE may be committed, so the examples are the corpus.
Fails, not skips, when the examples or pw.x are missing. Exit 0 only when nothing failed.
Usage: run_corpus.py QECLOUD_BINARY [--work DIR] [--jobs N]
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import extract_inputs  # noqa: E402  (same folder)
import pwx  # noqa: E402

# Below this many judged inputs the extraction, not the validator, is broken (there are ~390).
MIN_JUDGED = 300
PSEUDO_NOT_FOUND = re.compile(r"^(pseudo_dir '.*' does not exist|pseudopotential file '.*' not found)")

# Deliberate departures in the corpus: input (relative to the extraction) -> why qecloud's verdict differs.
DEPARTURES = {}


def validate(qecloud, work, e, home):
    run_dir = os.path.join(work, e["run_dir"])
    env = {k: v for k, v in os.environ.items() if k != "ESPRESSO_PSEUDO"}
    env["HOME"] = home
    env["QECLOUD_HOME"] = os.path.join(home, ".qecloud")
    res = subprocess.run([qecloud, "validate", "--json", "--run-dir", run_dir, os.path.join(work, e["input"])],
                         cwd=run_dir, env=env, capture_output=True, text=True, errors="replace")
    try:
        report = json.loads(res.stdout)
    except json.JSONDecodeError:
        return None, f"no JSON report (exit {res.returncode}): {(res.stderr or res.stdout).strip()[:500]}"
    return report, None


def diag_line(d):
    return f"{d.get('line', '?')}:{d.get('column', '?')}: {d.get('severity')}: {d.get('message')}"


DEBIAN_PATCHED_DIR = "/usr/share/espresso/pseudo/"


def only_through_debian_patch(files):
    """pw.x read every pseudopotential from Debian's patched fallback directory."""
    return bool(files) and all(os.path.abspath(f).startswith(DEBIAN_PATCHED_DIR) for f in files)


def pseudo_files_here(work, e, home):
    """(are all the input's pseudopotentials on this machine for Debian's pw.x?, the files it reads)."""
    probe = e.get("probe") or {}
    if probe.get("error_class") == "pseudo":
        return False, []
    if probe.get("pseudos_read"):
        return True, probe.get("pseudo_files") or []
    # pw.x here stopped before reading them (nscf and bands read the restart data first): Debian's lookup.
    with open(os.path.join(work, e["input"]), errors="replace") as f:
        found = pwx.debian_lookup(f.read(), os.path.join(work, e["run_dir"]), home)
    return all(found.values()), [p for p in found.values() if p]


def pwx_verdict(e, pseudos_here):
    """(group, pw.x accepted?, evidence) for one input; group None when there is no evidence at all."""
    probe = e.get("probe") or {}
    ref = e.get("pwx") if (e.get("pwx") or {}).get("evidence") == "reference output" else None
    if not pseudos_here:
        if ref:
            return "no-pseudo", ref["accepted"], f"reference output: {ref['summary']}"
        if probe.get("error_class") == "pseudo":
            return "partial", True, f"pw.x here read the input up to its pseudopotentials: {probe['summary']}"
        return None, None, f"no reference output; pw.x here: {probe.get('summary')}"
    if probe.get("accepted") is not None:
        return "here", probe["accepted"], f"pw.x here: {probe['summary']}"
    if ref:
        return "reference", ref["accepted"], f"reference output ({probe.get('summary')} here): {ref['summary']}"
    return None, None, f"no reference output; pw.x here: {probe.get('summary')}"


def judge(qecloud, work, e, home):
    """{group, pwx, ours, evidence, errors, set_aside} for one input."""
    pseudos_here, files = pseudo_files_here(work, e, home)
    group, theirs, evidence = pwx_verdict(e, pseudos_here)
    report, problem = validate(qecloud, work, e, home)
    if problem:
        return dict(group=group or "none", pwx=theirs, ours=None, evidence=evidence, errors=[problem], set_aside=0)
    errors = [d for d in report.get("diagnostics", []) if d.get("severity") == "error"]
    pseudo_errors = [d for d in errors if PSEUDO_NOT_FOUND.match(d.get("message", ""))]
    set_aside = 0
    if pseudo_errors and (group in ("no-pseudo", "partial") or only_through_debian_patch(files)):
        errors = [d for d in errors if d not in pseudo_errors]
        set_aside = 1
    return dict(group=group or "none", pwx=theirs, ours=not errors, evidence=evidence,
                errors=[diag_line(d) for d in errors], set_aside=set_aside)


def where(e):
    o = e["origin"]
    at = f"{o['file']}:{o['line']}" if o.get("line") else o["file"]
    if o.get("run_line"):
        at += f" (run at line {o['run_line']})"
    return at


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("qecloud")
    ap.add_argument("--work", help="extract into this (empty) directory and keep it")
    ap.add_argument("--reuse", help="development only: an extraction made earlier with --probe all")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    if not os.path.isdir(extract_inputs.EXAMPLES):
        print(f"FAIL: {extract_inputs.EXAMPLES} missing (install Debian's quantum-espresso)")
        return 1
    if not shutil.which("pw.x"):
        print("FAIL: pw.x not found (install Debian's quantum-espresso)")
        return 1
    qecloud = os.path.abspath(args.qecloud)
    if not os.access(qecloud, os.X_OK):
        print(f"FAIL: {qecloud} is not an executable")
        return 1
    if args.reuse:
        return run(qecloud, args, os.path.abspath(args.reuse), extract=False)
    work = os.path.abspath(args.work) if args.work else tempfile.mkdtemp(prefix="qecloud-examples-", dir="/tmp")
    try:
        return run(qecloud, args, work, extract=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


def run(qecloud, args, work, extract):
    if extract:
        ex = subprocess.run([sys.executable, os.path.join(HERE, "extract_inputs.py"), work, "--quiet",
                             "--probe", "all"])
        if ex.returncode != 0:
            print(f"FAIL: extract_inputs.py exited {ex.returncode}")
            return 1
    with open(os.path.join(work, "manifest.json")) as f:
        manifest = json.load(f)
    entries = [e for e in manifest["entries"] if e.get("input")]
    skipped = [e for e in manifest["entries"] if not e.get("input") or e["status"] == "skipped"]
    if skipped:
        print(f"-- skipped ({len(skipped)}): not extractable as pw.x would read it")
        for e in skipped:
            print(f"   {e.get('input') or '-'}  [{where(e)}]: {e.get('reason')}")
    entries = [e for e in entries if e["status"] != "skipped"]
    home = tempfile.mkdtemp(prefix="home-", dir=work)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda e: judge(qecloud, work, e, home), entries))
    groups = ("here", "reference", "no-pseudo")
    counts = {g: {"agree": 0, "false accept": 0, "false refusal": 0, "departure": 0} for g in groups}
    failures, no_evidence, undetermined, set_aside = [], [], [], 0
    for e, r in zip(entries, results):
        set_aside += r["set_aside"]
        if r["group"] == "none" or r["ours"] is None:
            if r["ours"] is None:
                failures.append((e, "NO REPORT", r))
            else:
                no_evidence.append((e, r))
            continue
        if r["group"] == "partial":
            # pw.x stopped at a missing pseudopotential, before its later checks (setup, check_atoms, the
            # functionals): it accepted what it read, which says nothing about what it did not.
            r["group"] = "no-pseudo"
            if not r["ours"]:
                undetermined.append((e, r))
                continue
        c = counts[r["group"]]
        if r["ours"] == r["pwx"]:
            c["agree"] += 1
            if e["input"] in DEPARTURES:
                failures.append((e, "STALE DEPARTURE (now agrees)", r))
            continue
        if e["input"] in DEPARTURES:
            c["departure"] += 1
            print(f"   departure {e['input']}: {DEPARTURES[e['input']]}")
            continue
        kind = "false accept" if r["ours"] else "false refusal"
        c[kind] += 1
        failures.append((e, kind.upper(), r))
    if no_evidence:
        print(f"-- no evidence of pw.x's verdict ({len(no_evidence)}): not compared")
        for e, r in no_evidence:
            print(f"   {e['input']}  [{where(e)}]: {r['evidence']}; qecloud: {'valid' if r['ours'] else 'invalid'}")
    if undetermined:
        print(f"-- undetermined ({len(undetermined)}): qecloud refuses, pw.x here stopped at a missing "
              "pseudopotential before the checks that would decide")
        for e, r in undetermined:
            print(f"   {e['input']}  [{where(e)}]: {'; '.join(r['errors'])}")
    for e, kind, r in failures:
        print(f"-- {kind} {e['input']}  [{where(e)}]")
        print(f"      pw.x: {'accepts' if r['pwx'] else 'refuses'} ({r['evidence']})")
        for line in r["errors"]:
            print(f"      qecloud: {line}")
    judged = 0
    for g in groups:
        c = counts[g]
        n = sum(c.values())
        judged += n
        print(f"examples corpus [{g}]: {n} inputs: agree {c['agree']}, false accept {c['false accept']}, "
              f"false refusal {c['false refusal']}, deliberate departures {c['departure']}")
    total = {k: sum(counts[g][k] for g in groups) for k in counts["here"]}
    print(f"examples corpus: {judged} inputs judged against pw.x: agree {total['agree']}, false accept "
          f"{total['false accept']}, false refusal {total['false refusal']}, deliberate departures "
          f"{total['departure']}; no evidence {len(no_evidence)}, undetermined {len(undetermined)}; "
          f"pseudopotential errors set aside "
          f"(missing here, or found only through Debian's patch) in {set_aside}")
    if judged < MIN_JUDGED:
        print(f"FAIL: only {judged} inputs judged (expected >= {MIN_JUDGED}): the extraction is broken")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
