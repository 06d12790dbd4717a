"""bench/launch: from "all nodes started" to "all ranks running" on 3 network-namespace nodes, three ways in
the same run (needs root, openssh-server for the two ssh peers):

  ours   `qecloud run --nodes 3`: agents rendezvous over TCP, mpirun launches through `qecloud agent exec`.
  seed   TUTORIAL.md §3 rebuilt in the same kind of namespaces: each node starts sshd, children append their
         address to the main's hostfile over ssh (retrying until the main's sshd answers), the main looks at
         the hostfile every 10 s and then runs mpirun with OpenMPI's ssh launcher.
  ssh    OpenMPI's plain ssh launcher with the hostfile known up front (sshd already up on every node).

Both instants are seen the same way for all three: a 5 ms scan of /proc for processes in each node's network
namespace (by the namespace's inode). "Started": every node has its first process (ours: the agent; seed: the
node's entry script; ssh: sshd answering everywhere, when mpirun is started). "Running": a pw.x process in every
node. Each run must also finish with the silicon example's energy; the sides disagreeing fails the benchmark.

usage: bench_launch.py QECLOUD REPO [ROUNDS=3]
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

QECLOUD, REPO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
NODES = 3
SEED_NS = [f"qbl{i}" for i in range(NODES)]  # not qc<pid>…: those are qecloud's own
HUB = "qblh"


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def ns_inode(name):
    try:
        return os.stat(f"/var/run/netns/{name}").st_ino
    except FileNotFoundError:
        return None


def scan(inodes):
    """{namespace inode: [process names]} for the processes in those namespaces now."""
    found = {i: [] for i in inodes if i}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            ino = int(re.search(r"\[(\d+)\]", os.readlink(f"/proc/{pid}/ns/net")).group(1))
            if ino in found:
                with open(f"/proc/{pid}/comm") as f:
                    found[ino].append(f.read().strip())
        except (OSError, AttributeError):
            continue
    return found


def watch(names_fn, started_when, deadline_s=120):
    """Polls every 5 ms; returns (t_started, t_running) on time.monotonic()."""
    t_started = None
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        inodes = [ns_inode(n) for n in names_fn()]
        if all(inodes):
            procs = scan(inodes)
            now = time.monotonic()
            if t_started is None and started_when(procs):
                t_started = now
            if t_started is not None and all("pw.x" in procs[i] for i in inodes):
                return t_started, now
        time.sleep(0.005)
    raise SystemExit("FAIL: the ranks did not all start within the deadline")


# --- the seed's namespaces and sshd ----------------------------------------------------------------------
def seed_addr(i):
    return f"198.18.1.{10 + i}"


def remove_seed_namespaces():
    for n in SEED_NS + [HUB]:
        if ns_inode(n):
            for pid in sh("ip", "netns", "pids", n, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            sh("ip", "netns", "del", n, check=False)


def make_seed_namespaces():
    remove_seed_namespaces()
    sh("ip", "netns", "add", HUB)
    sh("ip", "-n", HUB, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", HUB, "link", "set", "br0", "up")
    for i, n in enumerate(SEED_NS):
        sh("ip", "netns", "add", n)
        sh("ip", "-n", HUB, "link", "add", f"v{i}", "type", "veth", "peer", "name", "eth0", "netns", n)
        sh("ip", "-n", HUB, "link", "set", f"v{i}", "master", "br0", "up")
        sh("ip", "-n", n, "addr", "add", seed_addr(i) + "/24", "dev", "eth0")
        sh("ip", "-n", n, "link", "set", "eth0", "up")
        sh("ip", "-n", n, "link", "set", "lo", "up")


def ssh_setup(d):
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/id")
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/host")
    shutil.copy(f"{d}/id.pub", f"{d}/authorized_keys")
    os.makedirs("/run/sshd", exist_ok=True)
    for i in range(NODES):
        with open(f"{d}/sshd{i}.conf", "w") as f:
            f.write(f"ListenAddress {seed_addr(i)}\nHostKey {d}/host\nAuthorizedKeysFile {d}/authorized_keys\n"
                    "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile none\n"
                    "AcceptEnv *\nLogLevel ERROR\n")
    ssh = (f"ssh -i {d}/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
           f"-o BatchMode=yes -F /dev/null")
    return ssh


def mpirun_cmd(ssh, hostfile, work):
    return ["mpirun", "--allow-run-as-root", "--hostfile", hostfile, "-np", str(NODES), "--map-by", "node",
            "--mca", "plm_rsh_agent", ssh, "--mca", "btl", "tcp,self",
            "--mca", "btl_tcp_if_include", "198.18.1.0/24", "--mca", "oob_tcp_if_include", "198.18.1.0/24",
            "--mca", "mpi_yield_when_idle", "1", "-x", "OMPI_ALLOW_RUN_AS_ROOT=1",
            "-x", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "pw.x", "-nk", str(NODES), "-in", f"{work}/scf.in"]


def energy_of(text):
    m = re.findall(r"^!\s+total energy\s+=\s+(-?[\d.]+) Ry", text, re.M)
    return float(m[-1]) if m else None


def stage(work):
    os.makedirs(work, exist_ok=True)
    for f in ("scf.in", "Si.pz-vbc.UPF"):
        shutil.copy(os.path.join(REPO, "examples", "si", f), work)


# --- the three ways -----------------------------------------------------------------------------------------
def round_ours(tmp):
    store = tempfile.mkdtemp(prefix="store-", dir=tmp)
    env = dict(os.environ, QECLOUD_HOME=tempfile.mkdtemp(prefix="home-", dir=tmp))
    proc = subprocess.Popen([QECLOUD, "run", os.path.join(REPO, "examples", "si", "scf.in"), "--nodes",
                             str(NODES), "--store", f"file://{store}", "--json", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    names = [f"qc{proc.pid}n{i}" for i in range(NODES)]
    t0, t1 = watch(lambda: names, lambda procs: all(procs[i] for i in procs))
    out, _ = proc.communicate(timeout=300)
    res = json.loads(out)
    return t1 - t0, res.get("results", {}).get("total_energy_ry")


def round_seed(tmp, ssh_dir, ssh):
    work = tempfile.mkdtemp(prefix="seed-", dir=tmp)
    stage(work)
    hostfile = f"{work}/hostfile"
    main = seed_addr(0)
    # The seed's mpi-run.sh, reduced to its synchronisation: children report over ssh, the main polls.
    main_script = (f"/usr/sbin/sshd -D -f {ssh_dir}/sshd0.conf & echo {main} > {hostfile}; "
                   f"while [ $(wc -l < {hostfile}) -lt {NODES} ]; do sleep 10; done; "
                   f"{' '.join(repr(a) if ' ' in a else a for a in mpirun_cmd(ssh, hostfile, work))} "
                   f"> {work}/pw.out 2> {work}/pw.err; kill %1")
    child_script = (f"/usr/sbin/sshd -D -f {ssh_dir}/sshd{{i}}.conf & "
                    f"until {ssh} {main} 'echo {{addr}} >> {hostfile}'; do sleep 1; done; wait")
    t_launch = time.monotonic()
    procs = [subprocess.Popen(["ip", "netns", "exec", SEED_NS[0], "bash", "-c", main_script], cwd=work,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for i in range(1, NODES):
        procs.append(subprocess.Popen(["ip", "netns", "exec", SEED_NS[i], "bash", "-c",
                                       child_script.format(i=i, addr=seed_addr(i))], start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    t0, t1 = watch(lambda: SEED_NS, lambda p: all(p[i] for i in p))
    procs[0].wait(timeout=300)
    for p in procs[1:]:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    with open(f"{work}/pw.out") as f:
        return t1 - t0, energy_of(f.read()), t0 - t_launch


def round_plain_ssh(tmp, ssh_dir, ssh):
    work = tempfile.mkdtemp(prefix="ssh-", dir=tmp)
    stage(work)
    hostfile = f"{work}/hostfile"
    with open(hostfile, "w") as f:
        f.write("".join(seed_addr(i) + "\n" for i in range(NODES)))
    daemons = [subprocess.Popen(["ip", "netns", "exec", SEED_NS[i], "/usr/sbin/sshd", "-D", "-f",
                                 f"{ssh_dir}/sshd{i}.conf"], start_new_session=True) for i in range(NODES)]
    for i in range(NODES):  # every sshd answers before the clock starts
        for _ in range(500):
            if sh("ip", "netns", "exec", SEED_NS[0], "bash", "-c", f"echo > /dev/tcp/{seed_addr(i)}/22",
                  check=False).returncode == 0:
                break
            time.sleep(0.01)
    t0 = time.monotonic()
    with open(f"{work}/pw.out", "w") as out:
        mpirun = subprocess.Popen(["ip", "netns", "exec", SEED_NS[0], *mpirun_cmd(ssh, hostfile, work)],
                                  stdout=out, stderr=subprocess.DEVNULL, start_new_session=True, cwd=work)
        _, t1 = watch(lambda: SEED_NS, lambda p: True)
        mpirun.wait(timeout=300)
    for d in daemons:
        os.killpg(d.pid, signal.SIGKILL)
        d.wait()
    with open(f"{work}/pw.out") as f:
        return t1 - t0, energy_of(f.read())


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench/launch needs root (network namespaces)")
    if not os.path.exists("/usr/sbin/sshd"):
        raise SystemExit("bench/launch needs openssh-server for the seed's and OpenMPI's ssh paths: "
                         "apt-get install openssh-server")
    tmp = tempfile.mkdtemp(prefix="qecloud-bench-launch-", dir="/tmp")
    results = {"ours": [], "seed": [], "ssh": []}
    energies = set()
    try:
        make_seed_namespaces()
        ssh_dir = tempfile.mkdtemp(prefix="ssh-", dir=tmp)
        ssh = ssh_setup(ssh_dir)
        for r in range(ROUNDS):
            t, e = round_ours(tmp)
            results["ours"].append(t)
            energies.add(round(e, 8))
            t, e, _ = round_seed(tmp, ssh_dir, ssh)
            results["seed"].append(t)
            energies.add(round(e, 8))
            t, e = round_plain_ssh(tmp, ssh_dir, ssh)
            results["ssh"].append(t)
            energies.add(round(e, 8))
            print(f"  round {r + 1}: ours {results['ours'][-1]:.3f} s, seed {results['seed'][-1]:.3f} s, "
                  f"ssh {results['ssh'][-1]:.3f} s", flush=True)
    finally:
        remove_seed_namespaces()
        shutil.rmtree(tmp, ignore_errors=True)
    if len(energies) != 1:
        raise SystemExit(f"FAIL: the runs disagree on the energy: {sorted(energies)}")
    best = {k: min(v) for k, v in results.items()}
    print(f"\n{NODES} netns nodes, silicon example (E = {energies.pop():.8f} Ry in every run), best of {ROUNDS}:")
    print(f"  nodes started -> all ranks running: ours {best['ours']:.3f} s, seed's sshd + 10 s polling "
          f"{best['seed']:.3f} s, OpenMPI ssh launcher {best['ssh']:.3f} s")
    print(f"  seed / ours = {best['seed'] / best['ours']:.1f}x (goal >= 10x), "
          f"ssh / ours = {best['ssh'] / best['ours']:.1f}x; ours {best['ours']:.3f} s (goal <= 0.4 s)")


if __name__ == "__main__":
    main()
