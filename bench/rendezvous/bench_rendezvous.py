#!/usr/bin/env python3
"""bench/rendezvous: N simulated children (W worker processes on 127.0.0.1, N/W connections each) join one
`qecloud agent --dry-run` main. Measures the time from the moment every child has its connection open (a
barrier) to the moment every child has been welcomed, the main's own "all nodes joined" figure, and the main's
peak RSS (VmHWM, which the main logs as it finishes). The children speak the wire protocol of src/agent/wire.hpp, written here
again from its description (hello, HMAC-SHA256 frames), so the benchmark also checks the protocol from an
independent implementation: every frame from the main is verified.

usage: bench_rendezvous.py QECLOUD [CHILDREN=1000] [WORKERS=8] [REPEAT=3]
Goals (issue 4): all joined within 1 s; the main's peak RSS <= 10 MB.
"""
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SECRET = b"bench-rendezvous-secret-0123456789"
JOIN, WELCOME, PING, DONE = 1, 2, 3, 4


def seal(nonce, seq, direction, ftype, payload):
    tag = hmac.new(SECRET, direction + nonce + seq.to_bytes(8, "big") + bytes([ftype]) + payload,
                   hashlib.sha256).digest()
    return len(payload).to_bytes(4, "big") + bytes([ftype]) + payload + tag


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def read_frame(s, nonce, seq):
    head = recv_exact(s, 5)
    n, ftype = int.from_bytes(head[:4], "big"), head[4]
    payload = recv_exact(s, n)
    tag = recv_exact(s, 32)
    want = hmac.new(SECRET, b"S" + nonce + seq.to_bytes(8, "big") + bytes([ftype]) + payload,
                    hashlib.sha256).digest()
    if not hmac.compare_digest(tag, want):
        raise ValueError("a frame from the main has a bad tag")
    return ftype, payload


def worker(port, nodes, barrier, results):
    conns = []
    for node in nodes:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        hello = recv_exact(s, 21)
        assert hello[:5] == b"QECA\x01", hello
        conns.append((s, hello[5:], node))
    barrier.wait()
    t0 = time.perf_counter()
    for s, nonce, node in conns:
        body = json.dumps({"node": node, "address": "127.0.0.1", "slots": 1, "hostname": f"sim-{node}",
                           "exec_port": 1}).encode()
        s.sendall(seal(nonce, 0, b"C", JOIN, body))
    for s, nonce, node in conns:
        seq = 0
        while True:
            ftype, _ = read_frame(s, nonce, seq)
            seq += 1
            if ftype == WELCOME:
                break
    t1 = time.perf_counter()
    done = 0
    for s, nonce, node in conns:  # every child must also be told that the job is over
        seq = 1
        try:
            while True:
                ftype, _ = read_frame(s, nonce, seq)
                seq += 1
                if ftype == DONE:
                    done += 1
                    break
        except (ConnectionError, socket.timeout):
            pass
        s.close()
    results.put((t0, t1, done))


def one_round(qecloud, children, workers):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = tempfile.mkdtemp(prefix="qecloud-bench-rv-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "QECLOUD_"))}
    env.update(AWS_BATCH_JOB_ID="bench#0", AWS_BATCH_JOB_NODE_INDEX="0",
               AWS_BATCH_JOB_NUM_NODES=str(children + 1), AWS_BATCH_JOB_MAIN_NODE_INDEX="0",
               QECLOUD_JOB_SECRET=SECRET.decode(), QECLOUD_AGENT_PORT=str(port), QECLOUD_AGENT_ADDRESS="127.0.0.1",
               QECLOUD_AGENT_WORK=work, QECLOUD_JOIN_TIMEOUT="60", QECLOUD_AGENT_SLOTS="1")
    log = open(os.path.join(work, "main.log"), "w+")  # a file, not a pipe: 1,000 join lines fill a pipe
    main = subprocess.Popen([qecloud, "agent", "--dry-run"], env=env, stderr=log)
    deadline = time.time() + 10
    while time.time() < deadline:  # until the main listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.01)
    barrier = mp.Barrier(workers)
    results = mp.Queue()
    per = [list(range(1 + w, children + 1, workers)) for w in range(workers)]
    procs = [mp.Process(target=worker, args=(port, nodes, barrier, results)) for nodes in per]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    _, status, usage = os.wait4(main.pid, 0)
    log.seek(0)
    err = log.read()
    log.close()
    main.returncode = os.waitstatus_to_exitcode(status)
    if main.returncode != 0:
        raise SystemExit(f"FAIL: the main exited {main.returncode}:\n{err[-3000:]}")
    t0 = min(g[0] for g in got)
    t1 = max(g[1] for g in got)
    done = sum(g[2] for g in got)
    m = re.search(r"all (\d+) nodes joined after ([\d.]+) s", err)
    refused = err.count("refused")
    if done != children or refused:
        raise SystemExit(f"FAIL: {done}/{children} children told DONE, {refused} refused")
    shutil.rmtree(work, ignore_errors=True)
    # The main's own figure (VmHWM of its image). ru_maxrss from wait4 would also count the pages of this
    # Python process, which the child had until it exec'd (Linux carries them over), about 14 MiB.
    rss = re.search(r"peak resident memory ([\d.]+) MiB", err)
    if not rss:
        raise SystemExit("FAIL: the main did not report its peak resident memory")
    return t1 - t0, float(m.group(2)) if m else float("nan"), float(rss.group(1))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    qecloud = os.path.abspath(sys.argv[1])
    children = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, children + 256)), hard))
    rows = []
    for r in range(repeat):
        rows.append(one_round(qecloud, children, workers))
        print(f"  round {r + 1}: barrier to all welcomed {rows[-1][0]:.3f} s; main: all joined after "
              f"{rows[-1][1]:.3f} s of life; main peak RSS {rows[-1][2]:.1f} MiB", flush=True)
    best = min(rows)
    print(f"\n{children} children ({workers} processes) join one main on 127.0.0.1, best of {repeat}:")
    print(f"  all joined and welcomed {best[0]:.3f} s after the barrier (goal <= 1 s)")
    print(f"  main's peak RSS {max(r[2] for r in rows):.1f} MiB (goal <= 10 MB = 9.5 MiB)")


if __name__ == "__main__":
    main()
