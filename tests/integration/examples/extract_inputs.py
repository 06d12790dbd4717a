#!/usr/bin/python3
"""Extracts every pw.x input from Debian's QE examples into OUT_DIR, with OUT_DIR/manifest.json.

Inputs come from two places:
  script  the examples' shell scripts (run_example*, run_GaAs_scf, ...): heredocs (`cat > x.in << EOF`) that
          the script then feeds to pw.x (`$PW_COMMAND < x.in > x.out`, `-in/-inp/-i/-input x.in`, `./pw.x`).
  loose   plain files shipped as they are (EPW/*/scf.in, GUI/PWgui/pw/*, reference/*.in, ...) that are pw.x
          inputs by content (&control, &system, ATOMIC_SPECIES; not cp.x, not neb.x) and no script feeds.

Scripts are not parsed: they are RUN, so shell expansion (loops over every value, if/then, $(echo ... | bc),
`seq`, values grepped from a previous output) is exactly what the script does. The run happens on a copy of
the examples tree (Debian's gzip-compressed files restored, as upstream ships them) with:
  - every QE program replaced by qe_stub.py, which records what the program would read, the script line
    that ran it and its stdout redirect target, then prints the matching reference output;
  - environment_variables (which the scripts source) giving PSEUDO_DIR=/usr/share/espresso/pseudo (where
    Debian's quantum-espresso-data puts the examples' pseudopotentials), TMP_DIR=OUT_DIR/tmp, BIN_DIR=stubs;
  - a guard in front of rm, and, when run as root, the scripts run as nobody: they are shell code off the
    disk and must not be able to touch anything outside OUT_DIR.
The heredoc's own line in the script is found from the run line (the closest preceding `cat > NAME <<` whose
NAME matches the file read). The reference output is the redirect target's name in the example's reference
directory (reference_N for run_example_N, reference_X for a results_X working directory).

Status of each input in the manifest:
  accepted    pw.x read it: the reference output shows no input error (or a --probe run of Debian's pw.x
              got past reading it);
  rejected    the reference output (or the probe) shows pw.x refused the input;
  unverified  no reference output and no probe verdict;
  skipped     not extractable as pw.x would see it (reason given): unresolved shell variables, a heredoc
              that looks like a pw.x input but no command feeds it to pw.x, ...
Usage: extract_inputs.py OUT_DIR [--examples DIR] [--probe {none,unverified,all}] [--quiet]
"""
import argparse
import concurrent.futures
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pwx  # noqa: E402  (same folder)

EXAMPLES = "/usr/share/doc/quantum-espresso/examples"
PSEUDO_DIR = "/usr/share/espresso/pseudo"
SCRIPT_TIMEOUT_S = 300
NOBODY = 65534

HEREDOC = re.compile(r"""^\s*cat\s*(?:(>>?)\s*(\S+)\s*<<(-?)\s*(['"]?)(\w+)\4|<<(-?)\s*(['"]?)(\w+)\7\s*(>>?)\s*(\S+))""")
SHELL_VAR = re.compile(r"(?<!\\)\$(?:\{([A-Za-z_]\w*|\d)[^}]*\}|([A-Za-z_]\w*|\d))")
ASSIGNED = re.compile(r"(?:^|[\s;(&|`]|then|do|else)(?:export\s+|local\s+|readonly\s+)?([A-Za-z_]\w*)=")
LOOPED = re.compile(r"\b(?:for|read|getopts\s+\S+)\s+([A-Za-z_]\w*)")


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as f:
        return f.read()


def looks_like_pw_input(text):
    """pw.x input by content: its namelists and species card, and not cp.x's or neb.x's."""
    if not (re.search(r"(?im)^\s*&control\b", text) and re.search(r"(?im)^\s*&system\b", text)
            and re.search(r"(?im)^\s*atomic_species\b", text)):
        return False
    if re.search(r"(?im)^\s*(begin_engine_input|&path\b|&wannier\b|&press_ai\b)", text):
        return False
    calc = re.search(r"(?i)\bcalculation\s*=\s*['\"]\s*([\w-]+)", text)
    return not (calc and calc.group(1).lower() in ("cp", "cp-wf", "vc-cp", "vc-cp-wf"))


# ---- the sandbox: a copy of the examples tree, stubs, environment_variables ----------------------------

def copy_tree(examples, dest):
    """Copies the examples, restoring Debian-compressed files (upstream ships them plain: pseudopotentials in
    the example folders, scripts, inputs). Compressed files of reference folders are outputs, read in place."""
    for d, dirs, files in os.walk(examples):
        dirs.sort()
        rel = os.path.relpath(d, examples)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        in_reference = any(p.startswith("reference") for p in rel.split(os.sep))
        for f in sorted(files):
            src = os.path.join(d, f)
            if f.endswith(".gz"):
                if in_reference:
                    continue
                with gzip.open(src, "rb") as i, open(os.path.join(dest, rel, f[:-3]), "wb") as o:
                    shutil.copyfileobj(i, o)
            else:
                shutil.copy(src, os.path.join(dest, rel, f))


def find_scripts(examples):
    """Shell scripts that can run pw.x (run_all_examples only starts the others)."""
    found = []
    for d, dirs, files in os.walk(examples):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(d, f)
            name = f[:-3] if f.endswith(".gz") else f
            if name in ("run_all_examples",) or "/reference" in path:
                continue
            try:
                text = read_text(path)
            except (OSError, EOFError, gzip.BadGzipFile):
                continue
            shell = name.startswith("run_") or re.match(r"#!\s*/bin/(ba)?sh", text)
            if shell and re.search(r"(?<![\w.])pw\.x\b", text):
                found.append((os.path.relpath(path, examples), text))
    return found


def make_stubs(out, scripts):
    stubs = os.path.join(out, "bin")  # OUT_DIR plays QE's root: XSpectra's scripts use $EXAMPLE_DIR/../../bin
    os.makedirs(stubs)
    shutil.copy(os.path.join(HERE, "qe_stub.sh"), stubs)
    os.chmod(os.path.join(stubs, "qe_stub.sh"), 0o755)
    programs = {"pw.x", "wget", "gnuplot"}
    for _, text in scripts:
        programs |= set(re.findall(r"(?<![\w.])([A-Za-z][\w+-]*\.x)\b", text))
    for p in sorted(programs):
        os.symlink("qe_stub.sh", os.path.join(stubs, p))
    # Scripts remove things with `rm -rf $TMP_DIR/*`: never anything outside the sandbox.
    write_exec(os.path.join(stubs, "rm"), f"""#!/bin/sh
for a in "$@"; do
  case "$a" in -*) continue ;; esac
  case "$(realpath -m -- "$a")" in {out}/*) ;; *) echo "rm guard: refused $a" >&2; exit 1 ;; esac
done
exec /bin/rm "$@"
""")
    return stubs


def write_exec(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def environment(out, stubs):
    """What the scripts get from QE's environment_variables, plus the stubs' settings. TMP_DIR is per
    example folder (QE_TMP_DIR) so that folders run side by side: each script starts with rm -rf $TMP_DIR/*."""
    values = {"BIN_DIR": stubs, "PSEUDO_DIR": PSEUDO_DIR, "TMP_DIR": "$QE_TMP_DIR",
              "PARA_PREFIX": "", "PARA_POSTFIX": "", "PARA_IMAGE_PREFIX": "", "PARA_IMAGE_POSTFIX": "",
              "NETWORK_PSEUDO": "https://pseudopotentials.quantum-espresso.org/upf_files/",
              "WGET": "wget -O"}
    with open(os.path.join(out, "environment_variables"), "w") as f:
        f.write("# written by extract_inputs.py in place of QE's own\n")
        for k, v in values.items():
            f.write(f'{k}="{v}"\n')
        # The stubs write no output files, and Debian ships only some of the pseudopotentials the scripts
        # would download: `test ! -r FILE` (the scripts' only use of -r: pseudopotentials, another example's
        # output) answers "readable" for a missing FILE, as on the machine that made the reference outputs,
        # so the script goes on to feed its inputs to pw.x. Each such FILE is noted.
        f.write("""check_failure() { :; }
test() {
  if [ "$#" = 3 ] && [ "$1" = "!" ] && [ "$2" = "-r" ] && ! [ -r "$3" ]; then
    printf '%s\\t%s\\n' "$QE_SCRIPT" "$3" >> "$QE_CAPTURE_DIR/assumed-readable.tsv"
    return 1
  fi
  command test "$@"
}
""")
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": os.path.join(out, "home"), "LANG": "C",
           "QE_CAPTURE_DIR": os.path.join(out, "capture"), **values}
    return env, set(values) | {"ECHO", "EXAMPLE_DIR"}


def run_scripts(out, tree, scripts, env, quiet):
    """Runs the scripts, one example folder after another in each worker (scripts of one folder share its
    results/ directory), folders side by side."""
    as_nobody = []
    if os.geteuid() == 0 and shutil.which("setpriv"):
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", out], check=True)
        os.chmod(out, 0o755)
        as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        if subprocess.run(as_nobody + ["test", "-w", out], env=env).returncode != 0:
            sys.exit(f"FAIL: {out} is not writable by uid {NOBODY}; choose an OUT_DIR under a world-"
                     "traversable directory (e.g. /tmp)")
    groups = {}
    for rel, _ in scripts:
        groups.setdefault(os.path.dirname(rel), []).append(rel)

    def run_group(rels):
        return [run_one(out, tree, rel, env, as_nobody) for rel in rels]
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for results in pool.map(run_group, groups.values()):
            for rel, rc, log_name in results:
                if rc != 0:
                    failures.append(f"{rel}: exit {rc} (log: logs/{log_name})")
                if not quiet:
                    print(f"  ran {rel}: exit {rc}", flush=True)
    return failures


def run_one(out, tree, rel, env, as_nobody):
    plain = rel[:-3] if rel.endswith(".gz") else rel
    path = os.path.join(tree, plain)
    with open(path) as f:
        lines = f.read().split("\n")
    # Same line count: the trap shares line 1 with the shebang, which becomes a comment.
    lines[0] = "trap 'QE_LINE=$LINENO; export QE_LINE' DEBUG; " + lines[0]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    for local in set(re.findall(r"\./([\w+-]+\.x)\b", "\n".join(lines))):
        os.symlink(os.path.join(env["BIN_DIR"], local), os.path.join(os.path.dirname(path), local))
    slug = re.sub(r"[^\w.-]", "_", plain)
    tmp_dir = os.path.join(out, "tmp", re.sub(r"[^\w.-]", "_", os.path.dirname(plain)))
    os.makedirs(tmp_dir, exist_ok=True)
    if as_nobody:
        os.chown(tmp_dir, NOBODY, NOBODY)
    orig_dir = os.path.join(EXAMPLES, os.path.dirname(rel))
    run_env = dict(env, QE_SCRIPT=rel, QE_TMP_DIR=tmp_dir,
                   QE_REF_DIRS=os.pathsep.join(reference_dirs(orig_dir, plain)))
    with open(os.path.join(out, "logs", slug + ".log"), "w") as log:
        proc = subprocess.Popen(as_nobody + ["/bin/bash", path], cwd=os.path.dirname(path), env=run_env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=SCRIPT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = f"killed after {SCRIPT_TIMEOUT_S} s"
    return rel, rc, slug + ".log"


def reference_dirs(example_dir, script_rel):
    """Where a script's reference outputs are, best first: reference_N for run_example_N (else every
    reference folder), the example folder itself (PP/simple_transport/scf keeps its output beside the script)."""
    refs = sorted(d for d in os.listdir(example_dir)
                  if d.startswith("reference") and os.path.isdir(os.path.join(example_dir, d)))
    m = re.match(r"run_example_(\w+)$", os.path.basename(script_rel))
    if m and f"reference_{m.group(1)}" in refs:
        refs = [f"reference_{m.group(1)}"]
    else:
        refs.sort(key=lambda d: d != "reference")
    return [os.path.join(example_dir, d) for d in refs] + [example_dir]


# ---- what the scripts did -------------------------------------------------------------------------------

def heredocs(text):
    """[(line, target word, quoted, body)] of every `cat > target << EOF` in a script, comments skipped."""
    lines = text.split("\n")
    found, i = [], 0
    while i < len(lines):
        m = HEREDOC.match(lines[i])
        if m and not lines[i].lstrip().startswith("#"):
            strip_tabs = m.group(3) or m.group(6)
            quoted = bool(m.group(4) or m.group(7))
            end = m.group(5) or m.group(8)
            target = m.group(2) or m.group(10)
            start, body = i + 1, []
            i += 1
            while i < len(lines) and (lines[i].lstrip("\t") if strip_tabs else lines[i]) != end:
                body.append(lines[i])
                i += 1
            found.append((start, target, quoted, "\n".join(body)))
        i += 1
    return found


def word_regex(word):
    """Regex for the file names a shell word can expand to: `si.scf.$diago.in` -> si\\.scf\\..+\\.in."""
    word = word.strip("'\"").split("/")[-1]
    parts = re.split(r"\$\{?[A-Za-z_]\w*\}?|\$\d", word)
    return re.compile(".+".join(re.escape(p) for p in parts) + r"\Z")


def unresolved(body, defined):
    names = {m.group(1) or m.group(2) for m in SHELL_VAR.finditer(body)}
    return sorted(n for n in names if n not in defined)


RECORD_FIELDS = ("program", "script", "line", "cwd", "stdin", "stdout", "input_path", "capture", "reference", "args")


def load_records(out):
    """The stubs' records (see qe_stub.sh), in the order the programs ran."""
    path = os.path.join(out, "capture", "log.tsv")
    if not os.path.exists(path):
        return []
    recs = []
    with open(path) as f:
        for line in f:
            r = dict(zip(RECORD_FIELDS, line.rstrip("\n").split("\t")))
            r["args"] = [a for a in r.get("args", "").split("\037") if a]
            recs.append(r)
    return recs


def place_input(rec, out, claimed):
    """Puts the captured input where pw.x read it (relative paths in it then resolve as for pw.x); a file
    the script rewrote for a later run keeps each version under its own name."""
    with open(os.path.join(out, "capture", rec["capture"]), "rb") as f:
        data = f.read()
    path = rec.get("input_path")
    if not path or not path.startswith(out + os.sep) or path.startswith(os.path.join(out, "capture")):
        path = os.path.join(rec["cwd"], f"{rec['program']}-stdin.in")
    candidate, k = path, 1
    while candidate in claimed and claimed[candidate] != data:
        k += 1
        candidate = f"{path}.{k}"
    if candidate not in claimed:
        claimed[candidate] = data
        with open(candidate, "wb") as f:
            f.write(data)
    return candidate, data


def script_entries(out, tree, scripts, defined_env, records, failed):
    entries, other_programs, claimed, used_heredocs = [], {}, {}, set()
    texts = dict(scripts)
    docs = {rel: heredocs(text) for rel, text in scripts}
    for rec in records:
        if rec["program"] in ("wget", "gnuplot"):
            continue
        rel = rec["script"]
        run_line = int(rec["line"]) if rec.get("line") else None
        name = os.path.basename(rec.get("input_path") or "")
        doc = None
        for d in docs.get(rel, []):
            if word_regex(d[1]).match(name) and (run_line is None or d[0] < run_line):
                doc = d
        if doc:
            used_heredocs.add((rel, doc[0]))
        if rec["program"] != "pw.x":
            other_programs[rec["program"]] = other_programs.get(rec["program"], 0) + 1
            continue
        e = {"kind": "script", "program": "pw.x",
             "origin": {"file": rel, "line": doc[0] if doc else None, "run_line": run_line,
                        "command": texts[rel].split("\n")[run_line - 1].strip() if run_line else None},
             "run_dir": os.path.relpath(rec["cwd"], out),
             "reference_output": rec["reference"] or None}
        if not rec["capture"]:
            e.update(input=None, status="skipped", reason=f"pw.x input {rec['input_path']} unreadable")
            entries.append(e)
            continue
        path, data = place_input(rec, out, claimed)
        e["input"] = os.path.relpath(path, out)
        if doc:
            e["source"] = "heredoc"
        elif rec.get("input_path", "").startswith(tree) and os.path.exists(
                os.path.join(EXAMPLES, os.path.relpath(rec["input_path"], tree))):
            e["source"] = "shipped file " + os.path.relpath(rec["input_path"], tree)
        else:
            e["source"] = "file made by the script (no heredoc)"
        missing = unresolved(doc[3], defined_env | script_defined(texts[rel])) if doc and not doc[2] else []
        if not data.strip():
            e.update(status="skipped", reason="pw.x read an empty input")
        elif missing:
            e.update(status="skipped", reason="unresolved shell variables: " + ", ".join("$" + n for n in missing))
        entries.append(e)
    # Heredocs that look like pw.x inputs but nothing ran them: listed, never dropped silently.
    for rel, docs_of in docs.items():
        for line, target, _, body in docs_of:
            if (rel, line) not in used_heredocs and looks_like_pw_input(body):
                entries.append({"kind": "script", "program": "pw.x", "input": None,
                                "origin": {"file": rel, "line": line, "run_line": None, "command": None},
                                "status": "skipped", "reason": why_not_run(rel, texts[rel], target, failed)})
    return entries, other_programs


def why_not_run(rel, text, target, failed):
    name = target.strip("'\"").split("/")[-1]
    for n, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("#") and name in line and re.search(r"COMMAND|pw\.x", line):
            return f"heredoc '{target}' is fed to pw.x only by a commented-out line ({n}: {line.strip()})"
    if rel in failed:
        return f"heredoc '{target}': the script stopped before feeding it to pw.x ({failed[rel]})"
    return f"heredoc '{target}' looks like a pw.x input but the script never feeds it to pw.x"


def script_defined(text):
    return set(ASSIGNED.findall(text)) | set(LOOPED.findall(text))


def loose_entries(out, tree, consumed):
    entries = []
    for d, dirs, files in os.walk(tree):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(d, f)
            rel = os.path.relpath(path, tree)
            shipped = next((r for r in (rel, rel + ".gz") if os.path.isfile(os.path.join(EXAMPLES, r))), None)
            if not shipped or rel in consumed or os.path.getsize(path) > 2_000_000:
                continue
            try:
                with open(path, errors="strict") as fh:
                    text = fh.read()
            except (UnicodeDecodeError, OSError):
                continue
            if re.search(r"(?m)<<\s*['\"]?\w+|^#!", text) or not looks_like_pw_input(text):
                continue
            e = {"kind": "loose", "program": "pw.x", "input": os.path.relpath(path, out),
                 "origin": {"file": shipped, "line": 1, "run_line": None, "command": None},
                 "run_dir": os.path.relpath(d, out), "source": "shipped file " + shipped,
                 "reference_output": loose_reference(os.path.join(EXAMPLES, os.path.dirname(rel)), f)}
            entries.append(e)
    return entries


def loose_reference(orig_dir, name):
    """The output pw.x wrote from a shipped input: same stem, .out, beside it or in a reference folder."""
    stem = re.sub(r"\.(in|inp|input)$", "", name)
    dirs = [orig_dir] + [os.path.join(orig_dir, d) for d in sorted(os.listdir(orig_dir))
                         if d.startswith("reference") and os.path.isdir(os.path.join(orig_dir, d))]
    for d in dirs:
        for cand in (f"{stem}.out", f"{stem}.out.gz"):
            if os.path.isfile(os.path.join(d, cand)):
                return os.path.join(d, cand)
    return None


# ---- verdicts -------------------------------------------------------------------------------------------

def judge(entries, out, probe_mode):
    to_probe = []
    for e in entries:
        if e.get("status") == "skipped":
            continue
        ref = e.get("reference_output")
        verdict = pwx.judge_text(read_text(ref)) if ref else None
        if verdict and verdict["accepted"] is not None:
            e.update(pwx=dict(verdict, evidence="reference output"))
        if probe_mode == "all" or (probe_mode == "unverified" and "pwx" not in e):
            to_probe.append(e)
    by_dir = {}
    for e in to_probe:
        by_dir.setdefault(e["run_dir"], []).append(e)

    def probe_dir(group):  # one directory at a time: pw.x writes CRASH and outdir files there
        return [(e, pwx.probe(os.path.join(out, e["input"]), os.path.join(out, e["run_dir"]),
                                     os.path.join(out, "home"))) for e in group]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for results in pool.map(probe_dir, by_dir.values()):
            for e, verdict in results:
                e["probe"] = verdict
                if "pwx" not in e and verdict["accepted"] is not None:
                    e["pwx"] = dict(verdict, evidence="probe: Debian's pw.x run on it here")
    for e in entries:
        if e.get("status") == "skipped":
            continue
        v = e.get("pwx")
        if v is None:
            e["status"] = "unverified"
            e["reason"] = ("no reference output" if not e.get("reference_output") else
                           "reference output is not a pw.x run") + (
                               "; probe: " + e["probe"]["summary"] if "probe" in e else "")
        elif v["accepted"]:
            e["status"] = "accepted"
        else:
            e["status"] = "rejected"
            e["reason"] = f"{v['evidence']}: {v['summary']}"


def main():
    global EXAMPLES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--examples", default=EXAMPLES)
    ap.add_argument("--probe", choices=("none", "unverified", "all"), default="unverified",
                    help="run Debian's pw.x on inputs (default: those without a reference output)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    EXAMPLES = os.path.abspath(args.examples)
    if not os.path.isdir(EXAMPLES):
        sys.exit(f"FAIL: {EXAMPLES} missing (install Debian's quantum-espresso)")
    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"FAIL: {out} is not empty")
    tree = os.path.join(out, "examples")
    for sub in ("capture", "logs", "tmp", "home"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    copy_tree(EXAMPLES, tree)
    scripts = find_scripts(EXAMPLES)
    stubs = make_stubs(out, scripts)
    env, defined_env = environment(out, stubs)
    script_failures = run_scripts(out, tree, scripts, env, args.quiet)
    records = load_records(out)
    failed = {f.split(': ', 1)[0]: f.split(': ', 1)[1] for f in script_failures}
    entries, other_programs = script_entries(out, tree, scripts, defined_env, records, failed)
    consumed = {os.path.relpath(r["input_path"], tree) for r in records
                if (r.get("input_path") or "").startswith(tree + os.sep)}
    entries += loose_entries(out, tree, consumed)
    judge(entries, out, args.probe)
    for i, e in enumerate(entries, 1):
        e["id"] = i
        if e.get("input"):
            with open(os.path.join(out, e["input"]), errors="replace") as f:
                text = f.read()
            e["pseudopotentials"] = pwx.pseudo_names(text)
            e["pseudo_dir"] = pwx.pseudo_dir(text)
    # The examples' pseudopotentials against what Debian ships in PSEUDO_DIR.
    shipped = set(os.listdir(PSEUDO_DIR)) if os.path.isdir(PSEUDO_DIR) else set()
    wanted = {p for e in entries if e["kind"] == "script" and (e.get("pseudo_dir") or "").rstrip("/") == PSEUDO_DIR
              for p in e["pseudopotentials"]}
    assumed = os.path.join(out, "capture", "assumed-readable.tsv")
    assumed_readable = []
    if os.path.exists(assumed):
        with open(assumed) as f:
            assumed_readable = sorted({tuple(line.rstrip("\n").split("\t")) for line in f if "\t" in line})
    manifest = {"examples": EXAMPLES, "pseudo_dir": PSEUDO_DIR, "out": out,
                "script_failures": script_failures, "other_programs": other_programs,
                "pseudopotentials_named": len(wanted),
                "pseudopotentials_not_in_pseudo_dir": sorted(p for p in wanted if p not in shipped),
                "assumed_readable": [{"script": a, "file": b} for a, b in assumed_readable],
                "entries": entries}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print_summary(manifest)
    return 0


def print_summary(m):
    es = m["entries"]
    count = {}
    for e in es:
        count[(e["kind"], e["status"])] = count.get((e["kind"], e["status"]), 0) + 1
    for kind in ("script", "loose"):
        n = sum(v for (k, _), v in count.items() if k == kind)
        parts = ", ".join(f"{count[(kind, s)]} {s}" for s in ("accepted", "rejected", "unverified", "skipped")
                          if (kind, s) in count)
        print(f"extracted {n} pw.x inputs from {'scripts' if kind == 'script' else 'loose files'}: {parts}")
    print(f"inputs of other programs (not pw.x, ignored): "
          + ", ".join(f"{p} {n}" for p, n in sorted(m["other_programs"].items())))
    for s in m["script_failures"]:
        print(f"  script did not finish cleanly: {s}")
    lacking = m["pseudopotentials_not_in_pseudo_dir"]
    print(f"pseudopotentials named by script inputs with pseudo_dir={m['pseudo_dir']}: {m['pseudopotentials_named']}, "
          f"of which Debian ships {m['pseudopotentials_named'] - len(lacking)}"
          + (f"; lacking: {' '.join(lacking)}" if lacking else ""))


if __name__ == "__main__":
    sys.exit(main())
