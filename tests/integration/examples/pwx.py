"""What Debian's pw.x does with an input: read from its output (the examples' reference outputs, or a short
run here: probe) whether it accepted the input and which pseudopotential files it read; and where it looks
for a pseudopotential.

pw.x stops on an error with a block

     %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%
     Error in routine read_cards (1):
     wrong number of columns in ATOMIC_POSITIONS
     %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%

and the routine tells what failed: reading or checking the input (the input is refused), reading a
pseudopotential (the machine lacks a file), or anything else (the input was read; the run failed later or on
this machine's directories and files). Once pw.x prints its summary ("bravais-lattice index") it has read the
input and its pseudopotentials ("PseudoPot. # 1 for Si read from file: PATH") and checked them together.

Debian's pw.x 6.7 looks for a pseudopotential FILE in pseudo_dir (default $ESPRESSO_PSEUDO, else
$HOME/espresso/pseudo), then in the restart directory, then — debian/patches/pseudopotential_dir.patch — in
/usr/share/espresso/pseudo/FILE, whether or not pseudo_dir exists.
"""
import os
import re
import signal
import subprocess
import tempfile
import time

ERROR = re.compile(r"Error in routine\s+(\S+)\s*\(\s*(-?\d+)\s*\):\s*\n\s*(.*)")
PSEUDO_ROUTINES = re.compile(r"(readpp|read_pseudo\w*|\w*upf\w*|read_ncpp|read_rrkj|read_ps\w*)$", re.I)
# Errors that say nothing about the input: this machine lacks a previous run's restart data (nscf, bands,
# restart_mode='restart' read it before their own checks) or a writable scratch directory.
ENVIRONMENT_ROUTINES = re.compile(r"(read_file\w*|pw_readschema\w*|read_xml\w*|qexsd_readschema|read_rho|"
                                  r"check_tempdir|davcio|diropn|pw_readfile|read_conf_from_file|"
                                  r"read_wfc\w*|readfile)$", re.I)
SUMMARY = "bravais-lattice index"
SUMMARY_END = "number of k points="  # after the pseudopotential lines of the summary
PSEUDO_READ = re.compile(r"PseudoPot\. #\s*\d+\s+for\s+\S+\s+read from file:\s*\n\s*(\S+)")
DEBIAN_PSEUDO_DIR = "/usr/share/espresso/pseudo"
PROBE_TIMEOUT_S = 60
OUTDIR = re.compile(r"(?im)^(\s*(?:outdir|wfcdir)\s*=\s*)(['\"]).*?\2")


def judge_text(text):
    """{accepted: True/False/None, error_class, error_routine, summary, job_done} of one pw.x output.

    pw.x reads and checks the whole input (iosys, setup, the pseudopotentials) before it prints its summary
    (run_pwscf: iosys, setup, then summary in init_run). So an error before the summary is a refusal of the
    input (error_class "input", accepted False) unless it is about files this machine lacks: pseudopotentials
    ("pseudo", accepted True: the input was fine as far as it got) or a previous run's restart data and
    scratch directories ("environment", accepted None: no verdict). An error after the summary is a failure
    of the run, not of the input ("run", accepted True)."""
    v = {"accepted": None, "error_class": None, "error_routine": None, "job_done": "JOB DONE" in text,
         "pseudos_read": SUMMARY in text, "pseudo_files": PSEUDO_READ.findall(text)}
    if "Program PWSCF" not in text:
        v["summary"] = "not a pw.x output"
        return v
    m = ERROR.search(text)
    summary_at = text.find(SUMMARY)
    if m:
        routine, message = m.group(1), m.group(3).strip()
        before_summary = summary_at < 0 or m.start() < summary_at
        if PSEUDO_ROUTINES.match(routine):
            cls = "pseudo"
        elif ENVIRONMENT_ROUTINES.match(routine):
            cls = "environment"
        else:
            cls = "input" if before_summary else "run"
        accepted = {"input": False, "pseudo": True, "environment": None, "run": True}[cls]
        v.update(accepted=accepted, error_class=cls, error_routine=routine,
                 summary=f"Error in routine {routine} ({m.group(2).strip()}): {message}")
    elif summary_at >= 0:
        v.update(accepted=True, summary="read the input" + (", JOB DONE" if v["job_done"] else ""))
    else:
        v["summary"] = "output ends before pw.x finished reading the input"
    return v


def probe(input_path, run_dir, home):
    """probe_once, asked again when pw.x printed not even its banner before the deadline: a start-up that hangs
    (seen rarely under load, in MPI's initialisation) says nothing about the input."""
    v = probe_once(input_path, run_dir, home)
    if v.get("hung_silent"):
        v = probe_once(input_path, run_dir, home)
    return v


def probe_once(input_path, run_dir, home):
    """Runs Debian's pw.x on one input in run_dir until it has read it (its summary, up to the k-points) or
    stopped.

    outdir and wfcdir are pointed at a scratch directory (and ESPRESSO_TMPDIR too): the examples name their
    authors' scratch folders, and pw.x checks those before it checks the rest of the input. The input is
    otherwise unchanged and run_dir is the working directory, so relative pseudo_dir resolve as in the run."""
    with tempfile.TemporaryDirectory(prefix="pw-probe-") as scratch:
        with open(input_path, "rb") as f:
            text = f.read().decode(errors="surrogateescape")
        text = OUTDIR.sub(lambda m: f"{m.group(1)}'{scratch}/'", text)
        copy = os.path.join(scratch, os.path.basename(input_path))
        with open(copy, "wb") as f:
            f.write(text.encode(errors="surrogateescape"))
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C", "OMP_NUM_THREADS": "1",
               "ESPRESSO_TMPDIR": scratch}
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(["pw.x", "-in", copy], cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + PROBE_TIMEOUT_S
            while True:
                done = proc.poll() is not None
                out.seek(0)
                printed = out.read().decode(errors="replace")
                if done or SUMMARY_END in printed or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    v = judge_text(printed)
    if v["accepted"] is None and done and SUMMARY not in printed and not ERROR.search(printed):
        # pw.x ended before its summary without an error block: it crashed on the input (a segmentation
        # fault in read_cards, before even its banner is flushed) or stopped on it ("program stopped due
        # to: …" from a library it calls). Either way it refused the input.
        stopped = re.search(r"program stopped due to:\s*(.*)", printed)
        why = f"stopped: {stopped.group(1).strip()}" if stopped else f"crashed (exit status {proc.returncode})"
        v.update(accepted=False, error_class="input", summary=f"pw.x {why} before reading the whole input")
    elif v["accepted"] is None and "Program PWSCF" in printed and not done:
        v["summary"] = f"no verdict within {PROBE_TIMEOUT_S} s"
    elif v["accepted"] is None and not done and "Program PWSCF" not in printed:
        v.update(summary=f"pw.x printed no banner within {PROBE_TIMEOUT_S} s", hung_silent=True)
    return v


def pseudo_names(text):
    """The pseudopotential file of each ATOMIC_SPECIES line."""
    names, in_card = [], False
    for line in text.split("\n"):
        s = line.split("!")[0].split("#")[0].strip()
        if re.match(r"(?i)atomic_species\b", s):
            in_card = True
        elif in_card and re.match(r"(?i)(atomic_positions|k_points|cell_parameters|occupations|constraints|"
                                   r"atomic_forces|additional_k_points|solvents|hubbard|&)", s):
            in_card = False
        elif in_card and len(s.split()) >= 3:
            names.append(s.split()[2])
    return names


def pseudo_dir(text):
    m = re.search(r"(?im)^\s*pseudo_dir\s*=\s*(['\"])(.*?)\1", text)
    return m.group(2) if m else None


def debian_lookup(text, run_dir, home):
    """{file: path Debian's pw.x reads it from, or None} for each pseudopotential of an input."""
    d = pseudo_dir(text)
    if d is None:
        d = os.environ.get("ESPRESSO_PSEUDO") or os.path.join(home, "espresso", "pseudo")
    d = os.path.join(run_dir, d)
    found = {}
    for name in pseudo_names(text):
        found[name] = next((p for p in (os.path.join(d, name), os.path.join(DEBIAN_PSEUDO_DIR, name))
                            if os.path.isfile(p)), None)
    return found
