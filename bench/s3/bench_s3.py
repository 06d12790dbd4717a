#!/usr/bin/env python3
"""bench/s3: `qecloud store cp` against awscli's `aws s3 cp`, upload and download of one large random file,
against the same moto server (auth on) on 127.0.0.1 in the same run.

usage: bench_s3.py QECLOUD [SIZE_MIB=1024] [REPEAT=2]

Prints wall time (best of REPEAT), MiB/s, the ratio awscli/qecloud (> 1 means we are faster) and each side's
peak resident memory (ru_maxrss of the process tree, taken from wait4). Both sides' downloads are checked
against the source's SHA-256; a mismatch fails the benchmark. Needs the Python with moto, boto3 and awscli.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "integration",
                                "aws"))
from moto_fixture import moto_s3  # noqa: E402

BUCKET = "qecloud-bench"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def make_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n


def timed(cmd, env):
    """Runs cmd; returns (seconds, peak RSS in MiB of the child and its waited-for descendants)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read() + p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    p.returncode = code
    if code != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {code}:\n{out.decode(errors='replace')}")
    return dt, usage.ru_maxrss / 1024.0


def aws_exe():
    exe = shutil.which("aws") or os.path.join(os.path.dirname(sys.executable), "aws")
    if not os.path.exists(exe):
        raise SystemExit("FAIL: awscli (`aws`) not found next to this Python")
    return exe


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    qecloud = os.path.abspath(sys.argv[1])
    size_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    size = size_mib << 20
    aws = aws_exe()
    work = tempfile.mkdtemp(prefix="qecloud-bench-s3-")
    try:
        src = os.path.join(work, "src.bin")
        print(f"making {size_mib} MiB of random data ...", flush=True)
        make_file(src, size)
        want = sha256(src)
        with moto_s3(buckets=(BUCKET,)) as m:
            env = m.env()
            sides = {
                "qecloud": {
                    "up": lambda key: [qecloud, "store", "cp", "--quiet", src, f"s3://{BUCKET}/{key}"],
                    "down": lambda key, dst: [qecloud, "store", "cp", "--quiet", f"s3://{BUCKET}/{key}", dst],
                },
                "awscli": {
                    "up": lambda key: [aws, "--endpoint-url", m.endpoint, "s3", "cp", "--only-show-errors", src,
                                       f"s3://{BUCKET}/{key}"],
                    "down": lambda key, dst: [aws, "--endpoint-url", m.endpoint, "s3", "cp", "--only-show-errors",
                                              f"s3://{BUCKET}/{key}", dst],
                },
            }
            best = {(s, d): (float("inf"), 0.0) for s in sides for d in ("up", "down")}
            for r in range(repeat):
                # Alternate which side goes first so neither always meets a warmer (or fuller) server.
                order = list(sides) if r % 2 == 0 else list(reversed(sides))
                for name in order:
                    key = f"{name}-{r}.bin"
                    dst = os.path.join(work, f"{name}-{r}.bin")
                    t_up, rss_up = timed(sides[name]["up"](key), env)
                    t_down, rss_down = timed(sides[name]["down"](key, dst), env)
                    got = sha256(dst)
                    if got != want:
                        raise SystemExit(f"FAIL: {name} round trip {r} changed the data ({got} != {want})")
                    os.unlink(dst)
                    m.client().delete_object(Bucket=BUCKET, Key=key)
                    print(f"  round {r + 1} {name:8s} up {t_up:6.2f} s ({rss_up:5.1f} MiB)  "
                          f"down {t_down:6.2f} s ({rss_down:5.1f} MiB)", flush=True)
                    for d, t, rss in (("up", t_up, rss_up), ("down", t_down, rss_down)):
                        bt, brss = best[(name, d)]
                        best[(name, d)] = (min(bt, t), max(brss, rss))
        print(f"\n{size_mib} MiB through moto_server on 127.0.0.1, best of {repeat} (peak RSS over all rounds):")
        print(f"{'':10s}{'qecloud':>22s}{'awscli':>22s}{'ratio':>9s}")
        for d in ("up", "down"):
            (tq, rq), (ta, ra) = best[("qecloud", d)], best[("awscli", d)]
            print(f"{d:10s}{tq:7.2f} s {size_mib / tq:6.1f} MiB/s {ta:7.2f} s {size_mib / ta:6.1f} MiB/s "
                  f"{ta / tq:7.2f}x")
        print(f"{'peak RSS':10s}{max(best[('qecloud', d)][1] for d in ('up', 'down')):15.1f} MiB"
              f"{max(best[('awscli', d)][1] for d in ('up', 'down')):18.1f} MiB")
        print("ratio = awscli time / qecloud time (goal >= 1.0); goal for qecloud's peak RSS <= 64 MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
