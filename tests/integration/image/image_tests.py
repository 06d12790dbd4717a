#!/usr/bin/python3
"""`qecloud image dockerfile|build|test|push` and `qecloud run --nodes 3 --image` with real tools: podman
(Debian's, with --isolation=chroot), a Debian 12 base made here with mmdebstrap (Docker Hub is not reachable),
Debian's archive for the build's packages, moto's ECR (auth on) for CreateRepository/GetAuthorizationToken
and Debian's docker-registry on 127.0.0.1 with basic auth, as ECR's token login works, for the push.

Cases, in order (each needs the one before): base (imported once; kept between runs in the cache below),
build, secrets (the Dockerfile and the image's whole filesystem: no private key, no password, no sshd,
no PermitRootLogin), test (silicon E = -15.84473648 Ry inside the image, agent dry run, labels), validate
(--image judges for the image's release), nodes (run --nodes 3 --image: every node inside the image),
push (repository created, pushed, pulled back with the same digest, --write-config), and the clear errors
(a failed build step, an unreachable registry: nothing reported as pushed).

Fails, never skips, when a tool is missing (scripts/install-deps.sh installs them). Cached between runs
on one machine: the base image (podman's store, and the mmdebstrap tarball in $QECLOUD_IMAGE_CACHE,
default /var/cache/qecloud-image-test) and podman's layer cache.

Usage: image_tests.py QECLOUD_BINARY SOURCE_DIR [CASE…]   (root)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_fixture  # noqa: E402
import registry_fixture  # noqa: E402

QECLOUD, SRC = os.path.abspath(sys.argv[1]), sys.argv[2]
ONLY = sys.argv[3:]
SEED = os.path.join(SRC, "examples", "si")
BASE = "docker.io/library/debian:bookworm-slim"  # the name the Dockerfile's FROM uses
TAG = "localhost/qecloud-test:ci"
CACHE = os.environ.get("QECLOUD_IMAGE_CACHE", "/var/cache/qecloud-image-test")
failures, passed, timings = [], [], {}

if os.geteuid() != 0:
    sys.exit("FAIL: the image tests need root (podman's store, mmdebstrap, network namespaces)")
TOOLS = {"podman": "podman", "mmdebstrap": "mmdebstrap", "docker-registry": "docker-registry",
         "skopeo": "skopeo", "htpasswd": "apache2-utils", "runc": "runc", "tar": "tar", "ip": "iproute2"}
missing = [f"{t} (apt-get install {p})" for t, p in TOOLS.items() if not shutil.which(t)]
if missing:
    sys.exit("FAIL: missing " + ", ".join(missing) + "; scripts/install-deps.sh installs them")

WORK = tempfile.mkdtemp(prefix="qecloud-image-", dir="/tmp")
# This machine's podman cannot raise a container's rlimits (runc: "error setting rlimit type 7"), and
# crun is not what Debian's podman should use here: the measured configuration.
CONF = os.path.join(WORK, "containers.conf")
with open(CONF, "w") as f:
    f.write('[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n')
ENV = dict(os.environ, CONTAINERS_CONF=CONF, QECLOUD_HOME=os.path.join(WORK, "home"))
PODMAN = ["podman", "--cgroup-manager=cgroupfs"]


def check(case, cond, what):
    if not cond:
        failures.append(f"{case}: {what}")
        print(f"  FAIL {case}: {what}", flush=True)
    return cond


def sh(argv, timeout=600, env=None, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env or ENV, **kw)


def qecloud(args, timeout=900, env=None, cwd=None):
    return sh([QECLOUD] + args, timeout=timeout, env=env, cwd=cwd)


def timed(name, fn):
    start = time.monotonic()
    try:
        return fn()
    finally:
        timings[name] = time.monotonic() - start


def base(case):
    """A Debian 12 root filesystem under the Dockerfile's base name: podman's when it has it, else the
    cached mmdebstrap tarball imported, else mmdebstrap (minbase, bookworm) now."""
    if sh(PODMAN + ["image", "exists", BASE]).returncode == 0:
        print(f"  base: {BASE} already in podman's store")
        return
    tarball = os.path.join(CACHE, "bookworm-minbase.tar")
    if not os.path.exists(tarball):
        os.makedirs(CACHE, exist_ok=True)
        partial = tarball + ".partial.tar"
        r = sh(["mmdebstrap", "--variant=minbase", "bookworm", partial], timeout=1200)
        if not check(case, r.returncode == 0, f"mmdebstrap failed: {r.stderr[-2000:]}"):
            return
        os.rename(partial, tarball)
    r = sh(PODMAN + ["import", tarball, BASE])
    check(case, r.returncode == 0, f"podman import failed: {r.stderr[-1000:]}")


def build(case):
    ctx = os.path.join(WORK, "ctx")
    r = qecloud(["image", "dockerfile", ctx])
    if not check(case, r.returncode == 0, f"image dockerfile: {r.stderr}"):
        return
    check(case, os.path.isfile(os.path.join(ctx, "qecloud")) and os.path.isfile(os.path.join(ctx, "Dockerfile")),
          f"context holds {os.listdir(ctx)}")
    r = qecloud(["image", "build", ctx, "--tag", TAG, "--json"], timeout=1800)
    if not check(case, r.returncode == 0, f"image build: exit {r.returncode}: {r.stdout}{r.stderr[-3000:]}"):
        return
    out = json.loads(r.stdout)
    check(case, out["engine"] == "podman" and len(out["id"]) == 64 and out["size_bytes"] > 100e6, out)
    print(f"  built {TAG}: {out['size_bytes'] / 1e6:.0f} MB in {out['build_seconds']:.0f} s")
    timings["image size MB"] = out["size_bytes"] / 1e6
    r = sh(PODMAN + ["image", "inspect", TAG])
    config = json.loads(r.stdout)[0]["Config"]
    check(case, config.get("Cmd") == ["qecloud", "agent"] and not config.get("Entrypoint"),
          f"CMD {config.get('Cmd')} ENTRYPOINT {config.get('Entrypoint')}")
    check(case, config.get("User", "") in ("", "root", "0"), f"runs as {config.get('User')}")


# A private key is a PEM block with a body, in a file that is not a program or library (ELF files hold
# headers as string constants, and GnuTLS carries the public known-answer keys of its FIPS self-tests);
# PermitRootLogin in any configuration.
SECRET_PATTERNS = [re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=:,\- \r\n]{40,}-----END"),
                   re.compile(rb"^\s*PermitRootLogin", re.M)]


def scan_tree(root):
    """(what looks like a secret or an ssh server, how many files were read) in the tree at `root`."""
    found, scanned = [], 0
    for d, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            rel = path[len(root):]
            if name in ("sshd", "supervisord", "sshd_config") or re.fullmatch(r"id_(rsa|dsa|ecdsa|ed25519)", name) \
                    or rel.startswith("/root/.ssh/") or rel.startswith("/usr/local/aws") or name == "aws":
                found.append(rel)
            if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > 4 << 20:
                continue
            scanned += 1
            with open(path, "rb") as f:
                data = f.read()
            if data.startswith(b"\x7fELF"):
                continue
            found += [f"{rel} matches {p.pattern!r}" for p in SECRET_PATTERNS if p.search(data)]
    return found, scanned


def secrets(case):
    """The Dockerfile and every file of the image: no private key, no password, no sshd, no PermitRootLogin."""
    dockerfile = open(os.path.join(WORK, "ctx", "Dockerfile"), "rb").read()
    for p in SECRET_PATTERNS + [re.compile(rb"(?i)password|sshd|supervisor")]:
        commands = b"\n".join(l for l in dockerfile.splitlines() if not l.lstrip().startswith(b"#"))
        check(case, not p.search(commands), f"the Dockerfile matches {p.pattern}")
    root = os.path.join(WORK, "rootfs")
    os.makedirs(root)
    tar = os.path.join(WORK, "rootfs.tar")
    cid = sh(PODMAN + ["create", TAG, "true"]).stdout.strip().splitlines()[-1]
    sh(PODMAN + ["export", "-o", tar, cid])
    sh(PODMAN + ["rm", "-f", cid])
    check(case, sh(["tar", "-xf", tar, "-C", root]).returncode == 0, "cannot unpack the image")
    os.unlink(tar)
    # The scan can fail: a planted key and sshd configuration are found.
    planted = os.path.join(WORK, "planted")
    os.makedirs(os.path.join(planted, "root", ".ssh"))
    with open(os.path.join(planted, "root", ".ssh", "key"), "w") as f:
        f.write("-----BEGIN OPENSSH PRIVATE KEY-----\n" + "b3BlbnNzaC1rZXktdjEAAAAA" * 3 + "\n-----END OPENSSH PRIVATE KEY-----\n")
    with open(os.path.join(planted, "config"), "w") as f:
        f.write("Port 22\nPermitRootLogin yes\n")
    check(case, len(scan_tree(planted)[0]) == 3, f"the scan misses planted secrets: {scan_tree(planted)[0]}")
    found, scanned = scan_tree(root)
    # No password: root's (and every account's) is locked or empty of a hash.
    for line in open(os.path.join(root, "etc", "shadow")):
        user, pw = line.split(":")[:2]
        if pw not in ("*", "!", "!*", "!!"):
            found.append(f"/etc/shadow: {user} has a password")
    check(case, not found, f"the image holds {found[:10]}")
    check(case, scanned > 1000, f"only {scanned} files scanned")
    print(f"  scanned {scanned} files of the image: no key, password, sshd or PermitRootLogin")


def test(case):
    r = qecloud(["image", "test", TAG, "--json", "--example", SEED], timeout=900)
    out = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    if not check(case, r.returncode == 0 and out.get("ok"), f"image test: exit {r.returncode}: {r.stdout}{r.stderr}"):
        return
    labels = out["labels"]
    check(case, labels.get("org.qecloud.qe-version") == "6.7", labels)
    check(case, labels.get("org.qecloud.blas", "").startswith("OpenBLAS ("), labels)
    check(case, "Open MPI" in labels.get("org.qecloud.mpi", ""), labels)
    check(case, any("E = -15.84473648 Ry" in p for p in out["passed"]), out["passed"])
    inspected = json.loads(sh(PODMAN + ["image", "inspect", TAG]).stdout)[0]["Config"]["Labels"]
    check(case, inspected.get("org.qecloud.qe-version") == "6.7", f"labels in the image: {inspected}")


def validate(case):
    r = qecloud(["validate", os.path.join(SEED, "scf.in"), "--image", TAG])
    check(case, r.returncode == 0 and f"valid for QE 6.7 (image {TAG}'s label" in r.stdout
          and "BLAS              OpenBLAS" in r.stdout, f"{r.stdout}{r.stderr}")
    bad = os.path.join(WORK, "rmm.in")
    with open(bad, "w") as f:  # diagonalization = 'rmm-davidson' needs QE >= 7.0; the image holds 6.7
        f.write(open(os.path.join(SEED, "scf.in")).read().replace("&electrons", "&electrons\n diagonalization='rmm-davidson'"))
    shutil.copy(os.path.join(SEED, "Si.pz-vbc.UPF"), WORK)
    r = qecloud(["validate", bad, "--image", TAG])
    check(case, r.returncode == 3 and "needs QE >= 7.0" in r.stderr, f"{r.returncode} {r.stderr}")


def netns_left():
    d = "/var/run/netns"
    return [n for n in (os.listdir(d) if os.path.isdir(d) else []) if re.fullmatch(r"qc\d+(h|n\d+)", n)]


def nodes(case):
    job_dir = os.path.join(WORK, "si")
    shutil.copytree(SEED, job_dir)
    check(case, not os.path.exists("/usr/local/bin/qecloud"), "this host has a /usr/local/bin/qecloud: the "
          "nodes' qecloud would not prove they run inside the image")
    r = qecloud(["run", os.path.join(job_dir, "scf.in"), "--nodes", "3", "--image", TAG, "--json"], timeout=900)
    out = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    e = out.get("results", {}).get("total_energy_ry")
    check(case, r.returncode == 0 and e is not None and "%.8f" % e == "-15.84473648",
          f"exit {r.returncode}, E {e}: {r.stdout[-1500:]}{r.stderr[-3000:]}")
    check(case, out.get("layout", {}).get("nodes") == 3, out.get("layout"))
    check(case, "unpacking image" in r.stderr, f"no unpack note: {r.stderr[-500:]}")
    # Every node's agent was the image's /usr/local/bin/qecloud (there is none at that path on this host, so
    # the job could not have started otherwise), and the children fetched the input bundle for their ranks:
    # the image has no /usr/share/espresso/pseudo to fall back on.
    node1 = os.path.join(ENV["QECLOUD_HOME"], "store", "jobs", out.get("job_id", "x"), "output", "node-1.log")
    log = open(node1).read() if os.path.exists(node1) else ""
    check(case, "fetched 2 input file(s) for the ranks here" in log, f"node-1.log: {log[-1500:]}")
    check(case, sh(PODMAN + ["run", "--rm", "--network=host", TAG, "test", "!", "-e", "/usr/share/espresso/pseudo"]
                   ).returncode == 0, "the image has Debian's pseudopotentials: the rehearsal proves less")
    check(case, not netns_left(), f"namespaces left: {netns_left()}")
    # Unpacked once: a second run of the same image reuses the tree.
    r = qecloud(["run", os.path.join(job_dir, "scf.in"), "--nodes", "2", "--image", TAG, "--json"], timeout=900)
    check(case, r.returncode == 0 and "unpacking image" not in r.stderr, f"second run: {r.returncode} {r.stderr[-800:]}")


def push(case):
    with moto_fixture.moto_s3(buckets=(), actions=("ecr:*", "iam:GetUser")) as moto, \
            registry_fixture.registry(WORK, user="AWS", password="123456789012-auth-token") as reg:
        env = moto.env(AWS_ENDPOINT_URL_ECR=moto.endpoint, QECLOUD_REGISTRY=reg.address, CONTAINERS_CONF=CONF,
                       QECLOUD_HOME=ENV["QECLOUD_HOME"])
        cwd = os.path.join(WORK, "push")
        os.makedirs(cwd)
        r = qecloud(["image", "push", TAG, "--repository", "qecloud-ci", "--tag", "ci", "--write-config"],
                    env=env, cwd=cwd, timeout=900)
        if not check(case, r.returncode == 0, f"image push: exit {r.returncode}: {r.stdout}{r.stderr[-3000:]}"):
            return
        m = re.search(r"pushed \S+ as (\S+) \((sha256:[0-9a-f]{64})\)", r.stdout)
        if not check(case, m, r.stdout):
            return
        uri, digest = m.group(1), m.group(2)
        check(case, uri == f"{reg.address}/qecloud-ci:ci", uri)
        toml = open(os.path.join(cwd, "qecloud.toml")).read()
        check(case, f'image = "{uri}"' in toml, toml)
        ecr = moto.boto("ecr")
        repos = ecr.describe_repositories()["repositories"]
        check(case, [x["repositoryName"] for x in repos] == ["qecloud-ci"], repos)
        # Pulled back by another client: the same manifest digest.
        r = sh(["skopeo", "inspect", "--tls-verify=false", "--creds", "AWS:123456789012-auth-token",
                f"docker://{uri}"])
        check(case, r.returncode == 0 and json.loads(r.stdout)["Digest"] == digest, f"skopeo: {r.stdout}{r.stderr}")
        sh(PODMAN + ["rmi", "-f", uri])
        r = sh(PODMAN + ["pull", "--tls-verify=false", "--creds", "AWS:123456789012-auth-token", uri])
        pulled = json.loads(sh(PODMAN + ["image", "inspect", uri]).stdout or "[{}]")[0]
        check(case, r.returncode == 0 and f"{uri.rsplit(':', 1)[0]}@{digest}" in pulled.get("RepoDigests", []),
              f"pulled {pulled.get('RepoDigests')} vs {digest}: {r.stderr}")
        sh(PODMAN + ["rmi", "-f", uri])  # the registry's port changes from run to run
        # A second push finds the repository.
        r = qecloud(["image", "push", TAG, "--repository", "qecloud-ci", "--tag", "ci", "--json"], env=env, timeout=900)
        check(case, r.returncode == 0 and json.loads(r.stdout)["created_repository"] is False, r.stdout + r.stderr)
        # The submit side: the pushed URI's release is known here.
        r = qecloud(["validate", os.path.join(SEED, "scf.in"), "--image", uri], env=env)
        check(case, "valid for QE 6.7" in r.stdout, r.stdout + r.stderr)
        # Unreachable registry: a clear error, nothing reported as pushed.
        r = qecloud(["image", "push", TAG, "--repository", "qecloud-ci", "--tag", "down"],
                    env=dict(env, QECLOUD_REGISTRY="127.0.0.1:9"), timeout=300)
        check(case, r.returncode != 0 and "pushed" not in r.stdout and "127.0.0.1:9" in r.stderr
              and "cannot be reached" in r.stderr, f"{r.returncode} {r.stdout} {r.stderr[-1500:]}")


def errors(case):
    """A failed build step is named, with the engine's words."""
    ctx = os.path.join(WORK, "broken")
    os.makedirs(ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(f"FROM {BASE}\nRUN echo about to fail && false\nCMD [\"true\"]\n")
    r = qecloud(["image", "build", ctx, "--tag", "localhost/qecloud-test:broken"], timeout=600)
    check(case, r.returncode == 1 and "the image build failed (podman exit code 1) at STEP 2/3: RUN echo about to "
          "fail && false" in r.stderr, f"{r.returncode} {r.stderr[-1500:]}")


CASES = [base, build, secrets, test, validate, nodes, push, errors]


def main():
    start = time.monotonic()
    try:
        for case in CASES:
            if ONLY and case.__name__ not in ONLY:
                continue
            print(f"== {case.__name__}", flush=True)
            before = len(failures)
            timed(case.__name__, lambda: case(case.__name__))
            if len(failures) == before:
                passed.append(case.__name__)
            elif case in (base, build):
                break  # the rest need the image
    finally:
        sh(PODMAN + ["rmi", "-f", "localhost/qecloud-test:broken"])
        shutil.rmtree(WORK, ignore_errors=True)
    print("timings: " + ", ".join(f"{k} {v:.0f}{'' if 'MB' in k else ' s'}" for k, v in timings.items())
          + f", total {time.monotonic() - start:.0f} s")
    print(f"\n{len(passed)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
