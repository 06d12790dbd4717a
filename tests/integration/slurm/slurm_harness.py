"""A real Slurm cluster on this machine, for the tests and the benchmark: Debian's munge and slurm-wlm
(Slurm 22.05), configured and started here, with one slurmd per "host" so that `sbatch --nodes 3` spans three
hosts that reach each other only over a bridge.

  qs<pid>h      the bridge br0, in a namespace of its own (the host's network is never touched)
  qs<pid>l      "login" (198.18.2.2): slurmctld, and the qecloud the tests run (submit, status, …) — the
                submitting machine and the controller are on the cluster's isolated network, as on a cluster
  qs<pid>n<i>   "node-<i>" (198.18.2.<10+i>): `slurmd -N node-<i>`, its own hostname and its own /tmp (a tmpfs,
                into which only `tmp_shares` — a qecloud built under /tmp — are bound), as a compute node has
The names are never qc<pid>…, which are qecloud's own rehearsal namespaces. There is no DNS: slurm.conf gives
every address (SlurmctldHost=login(198.18.2.2), NodeAddr=…), and the agents find the main by
SLURM_LAUNCH_NODE_IPADDR.

munge: one munged, as user munge, with its own key (mungekey -c) and socket in /run/qecloud-slurm-<pid>/munge
(owned by munge); a unix socket is a file, so every namespace reaches it (AuthInfo=socket=…).
Shared filesystem: /var/tmp/qecloud-slurm-<pid>/ holds slurm.conf, Slurm's state and logs, $QECLOUD_HOME and
the store — every node sees it, as a cluster's home and scratch filesystems are seen; /tmp is per node.

close() (also at exit and on SIGTERM/SIGINT) kills every process in the namespaces, deletes them, stops
munged and removes both directories, whatever happened; stale() finds what a killed harness left.
"""
import atexit
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time

SUBNET = "198.18.2"
LOGIN_ADDR = f"{SUBNET}.2"
TOOLS = ("ip", "nsenter", "unshare", "setpriv", "munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol",
         "sinfo", "scancel", "sacct", "srun", "pw.x", "mpirun")


IP = shutil.which("ip") or "/usr/sbin/ip"  # absolute: a test may run a command with a PATH that has nothing


def missing_tools():
    return [t for t in TOOLS if not shutil.which(t)]


def sh(*args, check=True, **kw):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


class SlurmCluster:
    def __init__(self, nodes=3, cpus=2, kill_wait=10, tmp_shares=()):
        if os.geteuid() != 0:
            raise RuntimeError("the Slurm harness needs root (network namespaces, munge, slurmd)")
        missing = missing_tools()
        if missing:
            raise RuntimeError("missing: " + ", ".join(missing) + " (scripts/install-deps.sh installs them)")
        self.nodes, self.cpus, self.kill_wait = nodes, cpus, kill_wait
        self.shares = [os.path.abspath(p) for p in tmp_shares if os.path.abspath(p).startswith("/tmp/")]
        self.tag = f"qs{os.getpid()}"
        self.shared = f"/var/tmp/qecloud-slurm-{os.getpid()}"
        self.run_dir = f"/run/qecloud-slurm-{os.getpid()}"
        self.conf = os.path.join(self.shared, "slurm.conf")
        self.home = os.path.join(self.shared, "home")
        self.munge_socket = os.path.join(self.run_dir, "munge", "munge.socket.2")
        self._procs = []  # (name, Popen)
        self._closed = False
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        try:
            self._network()
            self._munge()
            self._slurm()
        except BaseException:
            self.close()
            raise

    # -- names ----------------------------------------------------------------------------------------------
    def login_ns(self):
        return self.tag + "l"

    def node_ns(self, i):
        return f"{self.tag}n{i}"

    def node_addr(self, i):
        return f"{SUBNET}.{10 + i}"

    def namespaces(self):
        return [self.tag + "h", self.login_ns()] + [self.node_ns(i) for i in range(self.nodes)]

    # -- setup ----------------------------------------------------------------------------------------------
    def _network(self):
        hub = self.tag + "h"
        sh("ip", "netns", "add", hub)
        sh("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", hub, "link", "set", "br0", "up")
        hosts = [(self.login_ns(), LOGIN_ADDR)] + [(self.node_ns(i), self.node_addr(i)) for i in range(self.nodes)]
        for k, (ns, addr) in enumerate(hosts):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", hub, "link", "add", f"v{k}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", hub, "link", "set", f"v{k}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def _munge(self):
        munge = pwd.getpwnam("munge")
        os.makedirs(self.shared, exist_ok=True)
        for d, mode in ((self.run_dir, 0o755), (os.path.join(self.run_dir, "munge"), 0o755),
                        (os.path.join(self.run_dir, "munge-etc"), 0o700)):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, mode)
        for d in ("munge", "munge-etc"):
            os.chown(os.path.join(self.run_dir, d), munge.pw_uid, munge.pw_gid)
        key = os.path.join(self.run_dir, "munge-etc", "munge.key")
        sh("mungekey", "--create", "--keyfile=" + key)
        os.chown(key, munge.pw_uid, munge.pw_gid)
        os.chmod(key, 0o400)
        etc = os.path.join(self.run_dir, "munge-etc")
        self._start("munged", ["setpriv", f"--reuid={munge.pw_uid}", f"--regid={munge.pw_gid}", "--clear-groups",
                               "munged", "--foreground", "--key-file=" + key, "--socket=" + self.munge_socket,
                               "--pid-file=" + os.path.join(etc, "munged.pid"),
                               "--log-file=" + os.path.join(etc, "munged.log"),
                               "--seed-file=" + os.path.join(etc, "munged.seed")])
        self._wait("munged's socket", lambda: os.path.exists(self.munge_socket))

    def _slurm(self):
        for d in ["state", "log"] + [f"spool/node-{i}" for i in range(self.nodes)]:
            os.makedirs(os.path.join(self.shared, d), exist_ok=True)
        os.makedirs(self.home, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(self.slurm_conf())
        self._start("slurmctld", self._in_ns(self.login_ns(), "login", ["slurmctld", "-D", "-f", self.conf],
                                             private_tmp=False))
        for i in range(self.nodes):
            self._start(f"slurmd-{i}", self._in_ns(self.node_ns(i), f"node-{i}",
                                                   ["slurmd", "-D", "-N", f"node-{i}", "-f", self.conf]))
        self._wait("every node idle", self._all_idle, seconds=90)

    def slurm_conf(self):
        s = self.shared
        nodes = "\n".join(f"NodeName=node-{i} NodeAddr={self.node_addr(i)} CPUs={self.cpus} State=UNKNOWN"
                          for i in range(self.nodes))
        return f"""# Written by tests/integration/slurm/slurm_harness.py
ClusterName=qecloudtest
SlurmctldHost=login({LOGIN_ADDR})
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={s}/state
SlurmdSpoolDir={s}/spool/%n
SlurmctldPidFile={s}/state/slurmctld.pid
SlurmdPidFile={s}/spool/slurmd-%n.pid
SlurmctldLogFile={s}/log/slurmctld.log
SlurmdLogFile={s}/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={s}/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait={self.kill_wait}
{nodes}
PartitionName=debug Nodes=node-[0-{self.nodes - 1}] Default=YES MaxTime=INFINITE State=UP
"""

    def _in_ns(self, ns, hostname, argv, private_tmp=True):
        """argv in network namespace `ns`, with its own hostname and (for nodes) its own /tmp."""
        script = f"hostname {hostname}\n"
        if private_tmp:
            stage = os.path.join(self.run_dir, "tmp-" + hostname)
            os.makedirs(stage, exist_ok=True)
            script += f"mount -t tmpfs -o mode=1777 tmpfs {stage}\n"
            for path in self.shares:
                rel = path[len("/tmp/"):]
                script += (f"mkdir -p {stage}/{os.path.dirname(rel)} && touch {stage}/{rel} && "
                           f"mount --bind {path} {stage}/{rel}\n")
            script += f"mount --move {stage} /tmp\n"
        script += 'exec "$@"\n'
        # nsenter, not `ip netns exec`: that one mounts a fresh /sys, without the cgroup filesystems slurmd's
        # cgroup plugin looks for at start even with proctrack/linuxproc.
        return ["nsenter", "--net=/var/run/netns/" + ns, "unshare", "--mount", "--uts", "--propagation", "private",
                "--", "/bin/sh", "-ec", script, "sh"] + argv

    def _start(self, name, argv):
        log = open(os.path.join(self.shared if name != "munged" else self.run_dir, f"{name}.out"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=self.env(), start_new_session=True)
        self._procs.append((name, p))
        return p

    def _wait(self, what, ready, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            for name, p in self._procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited ({p.returncode}) while waiting for {what}: "
                                       + self.daemon_logs())
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"not ready after {seconds} s: {what}\n" + self.daemon_logs())

    def _all_idle(self):
        r = self.run(["sinfo", "--noheader", "--Node", "--format=%N %t"], check=False)
        states = dict(line.split() for line in r.stdout.splitlines() if len(line.split()) == 2)
        return len(states) == self.nodes and all(v == "idle" for v in states.values())

    # -- use ------------------------------------------------------------------------------------------------
    def env(self, **extra):
        e = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "QECLOUD"))}
        e.update(SLURM_CONF=self.conf, QECLOUD_HOME=self.home)
        e.update(extra)
        return e

    def run(self, argv, env=None, check=True, timeout=120, **kw):
        """argv on the login host (its network namespace), as a user on a cluster's login node would."""
        r = subprocess.run([IP, "netns", "exec", self.login_ns()] + list(argv), capture_output=True, text=True,
                           env=env or self.env(), timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{argv} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def popen(self, argv, env=None, **kw):
        return subprocess.Popen([IP, "netns", "exec", self.login_ns()] + list(argv), env=env or self.env(),
                                text=True, **kw)

    def squeue(self, slurm_id):
        r = self.run(["squeue", "--noheader", f"--jobs={slurm_id}", "--states=all", "--format=%T"], check=False)
        return r.stdout.strip()

    def set_partition(self, up):
        self.run(["scontrol", "update", "PartitionName=debug", "State=" + ("UP" if up else "DOWN")])

    def daemon_logs(self, tail=30):
        out = []
        for d in (self.shared, os.path.join(self.shared, "log")):
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                path = os.path.join(d, name)
                if os.path.isfile(path) and name.endswith((".out", ".log")):
                    with open(path, errors="replace") as f:
                        lines = f.readlines()[-tail:]
                    out.append(f"--- {name}\n" + "".join(lines))
        return "\n".join(out)

    # -- teardown -------------------------------------------------------------------------------------------
    def _on_signal(self, sig, _frame):
        self.close()
        sys.exit(128 + sig)

    def close(self):
        if self._closed:
            return
        self._closed = True
        for ns in self.namespaces():
            kill_namespace(ns)
        for _, p in reversed(self._procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait()
        for ns in self.namespaces():
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self.shared, ignore_errors=True)


def kill_namespace(ns):
    for _ in range(50):
        r = sh("ip", "netns", "pids", ns, check=False)
        pids = [int(p) for p in r.stdout.split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def ours():
    """Every namespace of a Slurm harness on this machine (qs<pid>…)."""
    d = "/var/run/netns"
    return sorted(n for n in (os.listdir(d) if os.path.isdir(d) else []) if re.fullmatch(r"qs\d+(h|l|n\d+)", n))


def stale():
    """Namespaces and directories of harnesses whose process is gone; removes them (and their processes)."""
    removed = []
    for ns in ours():
        pid = int(re.match(r"qs(\d+)", ns).group(1))
        if os.path.exists(f"/proc/{pid}"):
            continue
        kill_namespace(ns)
        sh("ip", "netns", "del", ns, check=False)
        removed.append(ns)
    for parent in ("/run", "/var/tmp"):
        for name in os.listdir(parent):
            m = re.fullmatch(r"qecloud-slurm-(\d+)", name)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
                removed.append(os.path.join(parent, name))
    return removed
