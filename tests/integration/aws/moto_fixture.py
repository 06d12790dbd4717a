"""A real S3-compatible server on 127.0.0.1 for the tests: moto's server (a third-party AWS implementation,
moto 5.x from the machine's Python) with request authentication switched on, so that a wrong signature is
rejected by moto, not by our own code.

Authentication is turned on the way moto documents it: IAM keys are created through its IAM API while it
still accepts unauthenticated calls, then POST /moto-api/reset-auth with 0 makes every later request need a
valid SigV4 signature from a key that IAM knows and a policy that allows the action.
"""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc):
    """Ends a server started in its own session: SIGTERM to its group, SIGKILL after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def moto_server_command():
    exe = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.path.exists(exe):
        raise SystemExit("FAIL: moto_server not found (the machine's Python with moto 5.x is needed)")
    return [exe]


class MotoS3:
    """moto_server with auth on; .endpoint, .key_id, .secret, .region, .env() for qecloud, .client()."""

    def __init__(self, buckets=("qecloud-test",), region="us-east-1", actions=("s3:*", "iam:GetUser")):
        self.region = region
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
        env = dict(os.environ, MOTO_PORT=str(self.port))
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        self.proc = subprocess.Popen(moto_server_command() + ["-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self._wait_ready()
        admin = dict(aws_access_key_id="setup", aws_secret_access_key="setup", region_name=region,
                     endpoint_url=self.endpoint)
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="qecloud-test")
        iam.put_user_policy(UserName="qecloud-test", PolicyName="s3-all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
        key = iam.create_access_key(UserName="qecloud-test")["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        s3 = boto3.client("s3", **admin)
        for b in buckets:
            s3.create_bucket(Bucket=b)
        # From now on every request must be signed by a key IAM knows (INITIAL_NO_AUTH_ACTION_COUNT=0).
        req = urllib.request.Request(self.endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=10).read()

    def _wait_ready(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"FAIL: moto_server exited {self.proc.returncode}; log: {self.log.name}")
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).read()
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit(f"FAIL: moto_server did not answer on {self.endpoint} within 30 s")

    def env(self, **extra):
        """An environment for qecloud pointing at this server with the test key."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update(AWS_ACCESS_KEY_ID=self.key_id, AWS_SECRET_ACCESS_KEY=self.secret, AWS_REGION=self.region,
                 AWS_ENDPOINT_URL_S3=self.endpoint, AWS_EC2_METADATA_DISABLED="true")
        e.update(extra)
        return e

    def client(self, **kw):
        return boto3.client("s3", aws_access_key_id=self.key_id, aws_secret_access_key=self.secret,
                            region_name=self.region, endpoint_url=self.endpoint,
                            config=Config(retries={"max_attempts": 1}), **kw)

    def boto(self, service):
        """A boto3 client of any service, with the test key."""
        return boto3.client(service, aws_access_key_id=self.key_id, aws_secret_access_key=self.secret,
                            region_name=self.region, endpoint_url=self.endpoint)

    def close(self):
        stop(self.proc)
        self.log.close()
        os.unlink(self.log.name)


@contextlib.contextmanager
def moto_s3(**kw):
    m = MotoS3(**kw)
    try:
        yield m
    finally:
        m.close()
