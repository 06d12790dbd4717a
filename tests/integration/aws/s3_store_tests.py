#!/usr/bin/env python3
"""qecloud's S3 store against a real S3-compatible server: moto's server on 127.0.0.1 with authentication on
(see moto_fixture.py), through `qecloud store` — the code path runs and the agent use.

  round_trips      0 B, 1 B, 5 MiB-1, 5 MiB, 5 MiB+1, 8 MiB+1 (multipart) and 1 GiB up and down, byte-identical;
                   what we upload reads back identically through boto3 (a reference client), and an object
                   boto3 uploaded in 5 MiB parts downloads identically through us
  wrong_secret     a wrong secret is refused by moto (SignatureDoesNotMatch), exit non-zero, nothing stored
  credential_chain each link finds working credentials: environment, AWS_PROFILE files, the container
                   endpoint (a local HTTP endpoint stands in, checking the Authorization token), IMDSv2 (a local
                   endpoint that refuses requests without the session token)
  run_with_s3_store `qecloud run --store s3://…` on the silicon example: inputs, outputs, restart data and
                   results.json land in the bucket
  faults           through fault_proxy.py: resets, 500s, 503 SlowDown, stalls and corrupted bodies on a share
                   of requests → transfers succeed, byte-identical; a server that fails every part upload →
                   clear error after the retry budget, no object under the key, the multipart upload aborted
Usage: s3_store_tests.py QECLOUD_BINARY [CASE…]
"""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_proxy import FaultProxy  # noqa: E402
from moto_fixture import moto_s3  # noqa: E402

QECLOUD = sys.argv[1]
BUCKET = "qecloud-test"
MiB = 1 << 20


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return h.hexdigest()


def make_file(d, name, size):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n
    return p


def q(env, *args, check=True, timeout=600):
    r = subprocess.run([QECLOUD, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"qecloud {' '.join(args)} exited {r.returncode}: {r.stderr.strip()[-1500:]}")
    return r


def object_exists(m, key):
    try:
        m.client().head_object(Bucket=BUCKET, Key=key)
        return True
    except Exception:
        return False


def round_trips(m, d):
    env = m.env()
    for size in (0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 8 * MiB + 1, 1024 * MiB):
        src = make_file(d, f"src-{size}", size)
        key = f"rt/{size}.bin"
        t = time.time()
        q(env, "store", "cp", "--quiet", src, f"s3://{BUCKET}/{key}")
        back = os.path.join(d, f"back-{size}")
        q(env, "store", "cp", "--quiet", f"s3://{BUCKET}/{key}", back)
        assert sha(back) == sha(src), f"{size} B: downloaded bytes differ"
        ref = os.path.join(d, f"ref-{size}")
        if size < 64 * MiB:  # boto3 reading 1 GiB back from moto costs minutes and proves nothing new
            m.client().download_file(BUCKET, key, ref)
            assert sha(ref) == sha(src), f"{size} B: boto3 reads different bytes than we wrote"
            os.unlink(ref)
        print(f"     {size:>11} B up and down in {time.time() - t:.1f} s")
        for p in (src, back):
            os.unlink(p)
        q(env, "store", "rm", "--quiet", f"s3://{BUCKET}/{key}")
    # an object another client uploaded in parts of its own size
    from boto3.s3.transfer import TransferConfig
    src = make_file(d, "boto-mp", 12 * MiB + 3)
    m.client().upload_file(src, BUCKET, "rt/boto-mp.bin",
                           Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    back = os.path.join(d, "boto-mp.back")
    q(env, "store", "cp", "--quiet", f"s3://{BUCKET}/rt/boto-mp.bin", back)
    assert sha(back) == sha(src), "boto3's multipart object downloads differently"
    # "rt", not "rt/": moto 5.2.1 refuses the signature of any ListObjectsV2 whose prefix holds a '/'
    # (boto3's too — a moto bug; our signature of such requests is checked against botocore's elsewhere)
    ls = json.loads(q(env, "store", "ls", "--json", f"s3://{BUCKET}/rt").stdout)
    assert [o["key"] for o in ls] == ["rt/boto-mp.bin"] and ls[0]["size"] == 12 * MiB + 3, ls


def wrong_secret(m, d):
    src = make_file(d, "ws", 1000)
    r = q(m.env(AWS_SECRET_ACCESS_KEY="not-the-secret"), "store", "cp", src, f"s3://{BUCKET}/ws.bin", check=False)
    assert r.returncode != 0, "a wrong secret was accepted"
    assert "SignatureDoesNotMatch" in r.stderr, r.stderr
    assert m.secret not in r.stderr and "not-the-secret" not in r.stderr, "a secret reached the output"
    assert not object_exists(m, "ws.bin")
    r = q(m.env(AWS_ACCESS_KEY_ID="AKIAUNKNOWNKEY000000"), "store", "ls", f"s3://{BUCKET}/", check=False)
    assert r.returncode != 0 and "403" in r.stderr, r.stderr


class CredentialEndpoint:
    """A local HTTP endpoint standing in for the ECS container endpoint and IMDSv2."""

    def __init__(self, key_id, secret):
        self.seen = []
        doc = json.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret, "Token": "",
                          "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))})
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, body):
                b = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def do_PUT(self):
                outer.seen.append(("PUT", self.path, dict(self.headers)))
                if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(200, "imds-session-token")
                self.reply(400, "")

            def do_GET(self):
                outer.seen.append(("GET", self.path, dict(self.headers)))
                if self.path == "/ecs/creds":
                    if self.headers.get("Authorization") != "container-auth-token":
                        return self.reply(401, "")
                    return self.reply(200, doc)
                if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
                    if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                        return self.reply(401, "")
                    role = self.path.rsplit("/", 1)[1]
                    return self.reply(200, "qecloud-batch-role\n" if role == "" else doc)
                self.reply(404, "")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def credential_chain(m, d):
    base = {k: v for k, v in m.env().items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    home = os.path.join(d, "home")
    os.makedirs(os.path.join(home, ".aws"))
    base["HOME"] = home
    ep = CredentialEndpoint(m.key_id, m.secret)
    try:
        def ls(env):
            return q(env, "store", "ls", f"s3://{BUCKET}/")
        ls(m.env(HOME=home))  # environment
        with open(os.path.join(home, ".aws", "credentials"), "w") as f:
            f.write(f"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                    f"[qecloud]\naws_access_key_id = {m.key_id}\naws_secret_access_key = {m.secret}\n")
        ls(dict(base, AWS_PROFILE="qecloud"))  # profile in ~/.aws/credentials
        os.unlink(os.path.join(home, ".aws", "credentials"))
        with open(os.path.join(home, ".aws", "config"), "w") as f:
            f.write(f"[profile cfg]\naws_access_key_id = {m.key_id}\naws_secret_access_key = {m.secret}\n")
        ls(dict(base, AWS_PROFILE="cfg"))  # profile in ~/.aws/config
        ls(dict(base, AWS_CONTAINER_CREDENTIALS_FULL_URI=ep.url + "/ecs/creds",
                AWS_CONTAINER_AUTHORIZATION_TOKEN="container-auth-token"))  # container endpoint
        n = len(ep.seen)
        ls(dict(base, AWS_EC2_METADATA_DISABLED="false", AWS_EC2_METADATA_SERVICE_ENDPOINT=ep.url))  # IMDSv2
        imds = [(mth, p) for mth, p, _ in ep.seen[n:]]
        assert imds[0] == ("PUT", "/latest/api/token"), imds
        assert ("GET", "/latest/meta-data/iam/security-credentials/qecloud-batch-role") in imds, imds
        r = q(base, "store", "ls", f"s3://{BUCKET}/", check=False)  # no link has credentials
        assert r.returncode != 0 and "no AWS credentials found" in r.stderr, r.stderr
    finally:
        ep.close()


def faults(m, d):
    src = make_file(d, "fault-src", 40 * MiB + 5)
    small = make_file(d, "fault-small", 3000)
    every = lambda meth, path, query: True  # noqa: E731
    for name, rules in (("reset", [("reset", 0.25, every)]),
                        ("500", [("500", 0.25, every)]),
                        ("503 SlowDown", [("503", 0.3, every)]),
                        ("stall", [("stall", 0.2, lambda meth, p, qs: meth == "GET")]),
                        # a corrupted part is re-sent alone; a corrupted download can only be checked (and
                        # fetched again) whole, so GETs are corrupted rarely
                        ("corrupt", [("corrupt", 0.3, lambda meth, p, qs: meth == "PUT"),
                                     ("corrupt", 0.04, lambda meth, p, qs: meth == "GET")])):
        proxy = FaultProxy(m.endpoint, rules, seed=zlib.crc32(name.encode()), stall_s=30)
        env = m.env(AWS_ENDPOINT_URL_S3=proxy.endpoint, QECLOUD_S3_STALL_TIMEOUT="2", AWS_MAX_ATTEMPTS="8")
        try:
            for f in (src, small):
                key = f"faults/{name.replace(' ', '-')}/{os.path.basename(f)}"
                q(env, "store", "cp", "--quiet", f, f"s3://{BUCKET}/{key}")
                back = f + ".back"
                q(env, "store", "cp", "--quiet", f"s3://{BUCKET}/{key}", back)
                assert sha(back) == sha(f), f"{name}: downloaded bytes differ"
                os.unlink(back)
                assert not [p for p in os.listdir(d) if "qecloud-partial" in p], "a partial download was left"
            assert proxy.injected, f"{name}: nothing was injected"
            print(f"     {name}: {proxy.injected} injected in {proxy.requests} requests; transfers intact")
        finally:
            proxy.close()
    # A server that keeps failing part uploads: a clear error after the budget, nothing under the key.
    proxy = FaultProxy(m.endpoint, [("500", 1.0, lambda meth, p, qs: meth == "PUT" and "partNumber" in qs)])
    env = m.env(AWS_ENDPOINT_URL_S3=proxy.endpoint, AWS_MAX_ATTEMPTS="3")
    try:
        t = time.time()
        r = q(env, "store", "cp", src, f"s3://{BUCKET}/faults/never.bin", check=False)
        assert r.returncode != 0, "the upload claimed success"
        assert "cannot upload part" in r.stderr and "after 3 attempts" in r.stderr, r.stderr
        assert not object_exists(m, "faults/never.bin"), "a partial object is visible"
        uploads = m.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
        assert not [u for u in uploads if u["Key"] == "faults/never.bin"], f"upload not aborted: {uploads}"
        print(f"     part uploads always 500: failed in {time.time() - t:.1f} s: {r.stderr.strip()[:200]}")
    finally:
        proxy.close()
    # A download whose bytes are corrupted every time: refused, nothing at the destination.
    proxy = FaultProxy(m.endpoint, [("corrupt", 1.0, lambda meth, p, qs: meth == "GET")])
    env = m.env(AWS_ENDPOINT_URL_S3=proxy.endpoint, AWS_MAX_ATTEMPTS="2")
    try:
        q(m.env(), "store", "cp", "--quiet", src, f"s3://{BUCKET}/faults/corrupt.bin")
        dest = os.path.join(d, "corrupt.dest")
        r = q(env, "store", "cp", f"s3://{BUCKET}/faults/corrupt.bin", dest, check=False)
        assert r.returncode != 0 and "checksum" in r.stderr, r.stderr
        assert not os.path.exists(dest), "a corrupt download was put in place"
        assert not [p for p in os.listdir(d) if "qecloud-partial" in p], "a partial download was left"
    finally:
        proxy.close()


def run_with_s3_store(m, d):
    """`qecloud run --store s3://…`: a real pw.x run keeps its outputs and restart data in the bucket."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "si")
    env = m.env(QECLOUD_HOME=os.path.join(d, "home"))
    r = q(env, "run", "--json", "--quiet", "--store", f"s3://{BUCKET}/runs", os.path.join(src, "scf.in"))
    out = json.loads(r.stdout)
    assert out["state"] == "succeeded", out
    assert out["outputs"].startswith(f"s3://{BUCKET}/runs/jobs/"), out["outputs"]
    # the whole bucket, filtered here: moto refuses ListObjectsV2 signatures when the prefix holds a '/'
    job_key = out["outputs"][len(f"s3://{BUCKET}/"):]
    keys = [o["key"] for o in json.loads(q(env, "store", "ls", "--json", f"s3://{BUCKET}").stdout)
            if o["key"].startswith(job_key + "/")]
    for want in ("/input/scf.in", "/output/pw.out", "/output/results.json", "/output/data-file-schema.xml"):
        assert any(k.endswith(want) for k in keys), f"{want} not stored: {keys}"
    assert any(".save/" in k for k in keys), f"no restart data stored: {keys}"
    res = os.path.join(d, "results.json")
    q(env, "store", "cp", "--quiet", out["outputs"] + "/output/results.json", res)
    with open(res) as f:
        assert abs(json.load(f)["total_energy_ry"] - -15.84473648) < 1e-8


def main():
    if not os.access(QECLOUD, os.X_OK):
        print(f"FAIL: {QECLOUD} is not executable")
        return 1
    failed = 0
    cases = []
    with moto_s3(buckets=(BUCKET,)) as m:
        cases = [c for c in (wrong_secret, credential_chain, run_with_s3_store, faults, round_trips)
                 if len(sys.argv) < 3 or c.__name__ in sys.argv[2:]]
        for case in cases:
            d = tempfile.mkdtemp(prefix=f"qecloud-s3-{case.__name__}-")
            t = time.time()
            try:
                case(m, d)
                print(f"ok   {case.__name__} ({time.time() - t:.1f} s)")
            except Exception:
                failed += 1
                print(f"FAIL {case.__name__}")
                traceback.print_exc()
            finally:
                shutil.rmtree(d, ignore_errors=True)
    print(f"s3 store: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
