"""Debian's docker-registry (the CNCF distribution registry, 2.8) on 127.0.0.1 with basic auth, standing in for
ECR's registry: ECR's registry takes the GetAuthorizationToken token as a basic-auth login "AWS:<password>"
(Amazon ECR User Guide, "Private registry authentication"), so the test registry is given that user and the
password moto's token carries. Storage in a temporary directory; plain HTTP, as loopback registries are.
"""
import contextlib
import os
import subprocess
import time
import urllib.error
import urllib.request

import moto_fixture


class Registry:
    def __init__(self, work, user, password):
        self.dir = os.path.join(work, "registry")
        os.makedirs(self.dir, exist_ok=True)
        self.port = moto_fixture.free_port()
        self.address = f"127.0.0.1:{self.port}"
        htpasswd = os.path.join(self.dir, "htpasswd")
        # distribution's htpasswd auth reads bcrypt entries only (-B).
        with open(htpasswd, "w") as f:
            f.write(subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True,
                                   text=True).stdout)
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {self.dir}/data
  delete:
    enabled: true
http:
  addr: {self.address}
auth:
  htpasswd:
    realm: qecloud-test
    path: {htpasswd}
""")
        self.log = open(os.path.join(self.dir, "registry.log"), "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"FAIL: docker-registry exited {self.proc.returncode}; see {self.log.name}")
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
                return
            except urllib.error.HTTPError as e:  # 401 without credentials: it is up
                if e.code == 401:
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"FAIL: docker-registry did not answer on {self.address} within 30 s")

    def close(self):
        moto_fixture.stop(self.proc)
        self.log.close()


@contextlib.contextmanager
def registry(work, user, password):
    r = Registry(work, user, password)
    try:
        yield r
    finally:
        r.close()
