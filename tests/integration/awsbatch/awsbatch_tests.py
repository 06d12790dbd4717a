"""integration.awsbatch: the AWS Batch backend end to end, as a user runs it, against moto (auth on) with the
harness playing Batch's execution plane on network-namespace nodes (needs root).

usage: awsbatch_tests.py QECLOUD_BINARY REPO_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batch_harness import BatchHarness  # noqa: E402
import moto_placement_groups  # noqa: E402

QECLOUD, REPO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SILICON = os.path.join(REPO, "examples", "si", "scf.in")
ENERGY = -15.84473648
failures = []


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        failures.append(name)


def write_config(dir, h, subnet=None, region=None, max_vcpus=64, extra=""):
    subnets = ", ".join(f'"{x}"' for x in (subnet if isinstance(subnet, list) else [subnet or h.subnet]))
    with open(os.path.join(dir, "qecloud.toml"), "w") as f:
        f.write(f"""[aws]
region = "{region or h.region}"
bucket = "qecloud-e2e"
prefix = "jobs"
name = "qecloud"
subnets = [{subnets}]
security_groups = ["{h.security_group}"]
instance_types = ["c5n.large"]
max_vcpus = {max_vcpus}
image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/qecloud:1"
{extra}""")


def latest_template(ec2):
    """The latest version of the launch template qecloud-node, as a list (empty when there is none)."""
    try:
        return ec2.describe_launch_template_versions(LaunchTemplateName="qecloud-node",
                                                    Versions=["$Latest"])["LaunchTemplateVersions"]
    except ec2.exceptions.ClientError:
        return []


def long_silicon(cwd):
    """The seed at ecutwfc 40 and conv_thr 1e-12: about ten SCF iterations of 1-2 s each on 3 nodes, so a stop
    after the second lands mid-SCF."""
    d = os.path.join(cwd, "long")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(os.path.dirname(SILICON), "Si.pz-vbc.UPF"), d)
    text = open(SILICON).read()
    text = re.sub(r"ecutwfc\s*=\s*[\d.]+", "ecutwfc=40.0", text)
    text = re.sub(r"conv_thr\s*=\s*[\d.dDeE+-]+", "conv_thr=1e-12", text)
    path = os.path.join(d, "scf.in")
    with open(path, "w") as f:
        f.write(text)
    return path


def stored_objects(h, job):
    """key -> size of every object of the job in the bucket."""
    out = {}
    for page in h.client("s3").get_paginator("list_objects_v2").paginate(Bucket="qecloud-e2e", Prefix="jobs"):
        for o in page.get("Contents", []):
            if f"/{job}/" in o["Key"]:
                out[o["Key"]] = o["Size"]
    return out


def stop_then_resume(h, q, status, wait_final, cwd):
    """AWS Batch stops a job mid-SCF (TerminateJob: SIGTERM to every node's container at once, SIGKILL 30 s
    later); `qecloud resume` submits a new Batch job that continues from every node's restart data and ends at
    the energy of a run that was never stopped. The stopped job's objects are untouched; `show` lists both."""
    inp = long_silicon(cwd)
    # Batch's shortest attempt limit: the main sets pw.x's max_seconds from it (60 s less a 30 s margin and the
    # time spent), though here TerminateJob comes first.
    r = q("submit", inp, "--backend", "awsbatch", "--nodes", "3", "--timeout", "60", "--json")
    job = json.loads(r.stdout).get("job_id", "") if r.returncode == 0 else ""
    check("submit a long SCF", job, r.stderr[-800:])
    if not job:
        return
    deadline, text = time.time() + 180, ""
    while time.time() < deadline and "SCF iteration 2" not in text:
        text = q("logs", job).stdout
        time.sleep(0.5)
    limit = re.search(r"time limit: &control max_seconds = (\d+) on the staged input", text)
    check("--timeout 60 set pw.x's max_seconds on the main", limit and 0 < int(limit.group(1)) <= 30, text[-1500:])
    r = q("cancel", job, "--reason", "stopped mid-SCF to be resumed")
    s = wait_final(job, 120)
    check("TerminateJob mid-SCF: the job stopped with its restart data",
          r.returncode == 0 and "SCF iteration 2" in text and s.get("state") == "stopped"
          and "convergence has been achieved" not in text, f"{json.dumps(s)[:800]} {r.stderr[-400:]}")
    before = stored_objects(h, job)
    manifest = [k for k in before if k.endswith("/output/restart.json")]
    layout = {}
    if manifest:
        got = json.loads(h.client("s3").get_object(Bucket="qecloud-e2e", Key=manifest[0])["Body"].read())
        layout = got.get("layout", {})
        check("the stopped job's restart data is whole, from every node", got.get("complete") and sorted(
            p["node"] for p in got.get("parts", [])) == [0, 1, 2], json.dumps(got)[:800])
    r = q("resume", job, "--json")
    again = json.loads(r.stdout).get("job_id", "") if r.returncode == 0 else ""
    check("resume submits a new AWS Batch job", again and json.loads(r.stdout).get("backend") == "awsbatch",
          r.stdout[-400:] + r.stderr[-1500:])
    s2 = wait_final(again, 300) if again else {}
    e = s2.get("total_energy_ry")
    # The uninterrupted reference: a local run of the same input with the stopped job's ranks and pools.
    ref = q("run", inp, "--ranks", str(layout.get("ranks", 3)), "--pools", str(layout.get("pools", 3)),
            "--oversubscribe", "--json")
    e_ref = json.loads(ref.stdout).get("results", {}).get("total_energy_ry") if ref.returncode == 0 else None
    check("the resumed Batch job ends at the uninterrupted energy (1e-8 Ry)", s2.get("state") == "succeeded"
          and e is not None and e_ref is not None and abs(e - e_ref) <= 1e-8,
          f"resumed {json.dumps(s2)[:600]}, reference {e_ref} {ref.stderr[-600:]}")
    print(f"  stop and resume on AWS Batch: max_seconds {limit.group(1) if limit else '?'}; resumed E = {e} Ry, uninterrupted E = {e_ref} Ry "
          f"(local, {layout.get('ranks')} ranks, {layout.get('pools')} pools)", flush=True)
    r = q("fetch", again, "--to", os.path.join(cwd, "resumed-" + again))
    pw = os.path.join(cwd, "resumed-" + again, "pw.out")
    check("the resumed job's pw.x continued the SCF", r.returncode == 0 and os.path.exists(pw)
          and "restarted from scf iteration" in open(pw, errors="replace").read(), r.stderr[-600:])
    check("the stopped job's objects are untouched", stored_objects(h, job) == before)
    r = q("show", again, "--json")
    show = json.loads(r.stdout) if r.returncode == 0 else {}
    check("show lists both attempts", [(a["job_id"], a["state"]) for a in show.get("attempts", [])]
          == [(job, "stopped"), (again, "succeeded")] and show.get("resumed_from") == job,
          f"{show.get('attempts')} {r.stderr[-400:]}")


def main():
    if os.geteuid() != 0:
        print("FAIL: integration.awsbatch starts network namespaces and needs root")
        return 1
    # Not us-east-1: a client that falls back to its default region signs for the wrong one and S3 refuses.
    h = BatchHarness(QECLOUD, region="eu-west-1")
    cwd = tempfile.mkdtemp(prefix="qecloud-awsbatch-", dir="/tmp")
    home = os.path.join(cwd, "home")
    os.makedirs(home)
    env = h.env(QECLOUD_HOME=home)

    def q(*args, env_=None, timeout=300):
        return subprocess.run([QECLOUD, *args], cwd=cwd, env=env_ or env, capture_output=True, text=True,
                              timeout=timeout)

    def status(job):
        r = q("status", job, "--json")
        return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}

    def wait_final(job, limit=300):
        deadline = time.time() + limit
        while time.time() < deadline:
            s = status(job)
            if s.get("batch_status") in ("SUCCEEDED", "FAILED"):
                return s
            time.sleep(1)
        return status(job)

    try:
        # A tutorial placeholder: refused with file:line before any request.
        write_config(cwd, h, subnet="subnet-2xxxxxxx")
        before = len(h.requests)
        r = q("infra", "up")
        check("placeholder refused", r.returncode == 2 and re.search(r"qecloud.toml:\d+: aws.subnets\[0\]", r.stderr)
              and len(h.requests) == before, r.stderr + f" requests={h.requests[before:]}")

        # A log retention CloudWatch does not offer: refused with file:line before any request.
        write_config(cwd, h, extra="log_retention_days = 10\n")
        before = len(h.requests)
        r = q("infra", "up")
        check("log_retention_days 10 refused", r.returncode == 2 and re.search(
            r"qecloud.toml:\d+: aws.log_retention_days: 10 is not a retention CloudWatch Logs offers", r.stderr)
            and len(h.requests) == before, r.stderr)

        # The network, judged before anything is made: subnets in two zones (a cluster placement group lives
        # in one), a subnet with no route out.
        ec2 = h.client("ec2")
        write_config(cwd, h, subnet=[h.subnet, h.other_zone_subnet])
        before = len(h.requests)
        r = q("infra", "up")
        made = [op for op in h.requests[before:] if not op.startswith(("Describe", "GetCallerIdentity", "Get"))]
        check("subnets in two zones: refused naming each zone, nothing made", r.returncode == 2
              and f"{h.subnet} in eu-west-1a" in r.stderr and f"{h.other_zone_subnet} in eu-west-1b" in r.stderr
              and not made, f"{r.stderr} made={made}")
        write_config(cwd, h, subnet=h.private_subnet)
        before = len(h.requests)
        r = q("infra", "up")
        made = [op for op in h.requests[before:] if not op.startswith(("Describe", "GetCallerIdentity", "Get"))]
        check("a subnet with no route out: refused naming it, nothing made", r.returncode == 2
              and h.private_subnet in r.stderr and "0.0.0.0/0" in r.stderr and not made, f"{r.stderr} made={made}")
        # The harness's own rule, before qecloud fixes anything: the default VPC's nodes would reach neither
        # S3 (no public IP in awsvpc mode, no endpoint) nor each other (the user's group admits nothing).
        bare = h.reach([h.subnet], [h.security_group])
        check("harness: the bare default VPC reaches neither S3 nor the other nodes",
              not bare["s3"] and not bare["nodes"], bare)
        write_config(cwd, h)

        # From an empty account: the compute environment made seconds after its instance profile comes out
        # INVALID (IAM has not spread it), is made again, and the queue is created only once it is VALID.
        r = q("infra", "up")
        ces = h.client("batch").describe_compute_environments()["computeEnvironments"]
        check("infra up", r.returncode == 0 and [c["status"] for c in ces] == ["VALID"], r.stderr[-1500:])
        check("infra up waits for VALID and remakes an environment IAM was not ready for",
              h.invalid_environments >= 1 and "INVALID" in r.stderr and "to be VALID" in r.stderr
              and ces[0].get("serviceRole", "").endswith("/AWSServiceRoleForBatch"),
              f"invalid={h.invalid_environments} {r.stderr[-1500:]}")
        # The free fixes: an S3 gateway endpoint on the subnet's (main) route table and the group <name>-mpi
        # admitting the nodes' traffic from itself, both tagged; the user's group is left as it was.
        endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "tag:qecloud", "Values": ["qecloud"]}])["VpcEndpoints"]
        mpi = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["qecloud-mpi"]}])["SecurityGroups"]
        user_group = ec2.describe_security_groups(GroupIds=[h.security_group])["SecurityGroups"][0]
        check("infra up makes an S3 gateway endpoint and the qecloud-mpi group",
              len(endpoints) == 1 and endpoints[0]["ServiceName"] == "com.amazonaws.eu-west-1.s3"
              and endpoints[0]["VpcEndpointType"] == "Gateway" and len(endpoints[0]["RouteTableIds"]) == 1
              and len(mpi) == 1 and any(p["IpProtocol"] == "-1" and [g["GroupId"] for g in p["UserIdGroupPairs"]]
                                        == [mpi[0]["GroupId"]] for p in mpi[0]["IpPermissions"])
              and not user_group["IpPermissions"], f"{endpoints} {mpi} {user_group}")
        # What keeps the account from paying for leftovers, and the nodes' image, init and root volume.
        s3, logs = h.client("s3"), h.client("logs")
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket="qecloud-e2e")["Rules"]
        except s3.exceptions.ClientError as e:  # NoSuchLifecycleConfiguration: no rule at all
            rules = [str(e)]
        check("infra up: the bucket aborts incomplete multipart uploads under the prefix", [
            (x.get("Filter", {}).get("Prefix"), x["Status"], x.get("AbortIncompleteMultipartUpload")) for x in rules
            if isinstance(x, dict)]
            == [("jobs/", "Enabled", {"DaysAfterInitiation": 7})], rules)
        groups = logs.describe_log_groups(logGroupNamePrefix="/aws/batch/qecloud")["logGroups"]
        check("infra up: the log group keeps logs 30 days", [g.get("retentionInDays") for g in groups] == [30], groups)
        queue = h.client("batch").describe_job_queues()["jobQueues"]
        actions = queue[0].get("jobStateTimeLimitActions", []) if queue else []
        check("infra up: the queue cancels jobs stuck RUNNABLE for capacity or misconfiguration after 60 min",
              {(a["state"], a["action"], a["maxTimeSeconds"]) for a in actions} == {("RUNNABLE", "CANCEL", 3600)}
              and {"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
                   "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"} <= {a["reason"] for a in actions}, actions)
        templates = ec2.describe_launch_templates(
            Filters=[{"Name": "tag:qecloud", "Values": ["qecloud"]}])["LaunchTemplates"]
        latest = latest_template(ec2)
        disks = [(m["DeviceName"], m["Ebs"]["VolumeSize"]) for v in latest
                 for m in v["LaunchTemplateData"].get("BlockDeviceMappings", [])]
        cr = ces[0]["computeResources"] if ces else {}
        check("infra up: a tagged launch template with a 30 GiB root volume, the environment's on ECS AL2023",
              [t["LaunchTemplateName"] for t in templates] == ["qecloud-node"] and disks == [("/dev/xvda", 30)]
              and cr.get("ec2Configuration") == [{"imageType": "ECS_AL2023"}]
              and cr.get("launchTemplate", {}).get("launchTemplateName") == "qecloud-node"
              and cr.get("launchTemplate", {}).get("version") == str(latest[0]["VersionNumber"] if latest else ""),
              f"{templates} {disks} {cr}")
        defs = h.client("batch").describe_job_definitions(jobDefinitionName="qecloud-mpi", status="ACTIVE")
        containers = [r["container"] for d in defs["jobDefinitions"] for r in d["nodeProperties"]["nodeRangeProperties"]]
        check("infra up: the nodes' containers run under an init process",
              containers and all(c.get("linuxParameters", {}).get("initProcessEnabled") is True for c in containers),
              containers)
        reach = h.network_reach(queue[0]["jobQueueName"]) if queue else {}
        check("harness: after infra up the nodes reach S3 and each other", reach.get("s3") and reach.get("nodes"),
              reach)
        before = len(h.requests)
        r = q("infra", "up", "--json")
        made = [op for op in h.requests[before:] if re.match(r"(?i)(create|register|put|attach|add)", op)
                or op.startswith("PUT ")]
        check("infra up twice: no create call", r.returncode == 0 and not made and
              all(i["state"] in ("exists", "checked") for i in json.loads(r.stdout)), f"{made} {r.stdout[:500]}")
        # Changed limits: the next `up` brings the queue, the log group and the launch template (a new version,
        # which the compute environment is updated to) in line.
        write_config(cwd, h, extra="log_retention_days = 14\nrunnable_timeout_minutes = 30\nroot_volume_gib = 40\n")
        r = q("infra", "up", "--json")
        states = {i["kind"]: i["state"] for i in json.loads(r.stdout or "[]")}
        queue = h.client("batch").describe_job_queues()["jobQueues"]
        cr = h.client("batch").describe_compute_environments()["computeEnvironments"][0]["computeResources"]
        latest = latest_template(ec2) or [{"VersionNumber": None, "LaunchTemplateData": {}}]
        check("infra up after [aws] changes: queue, retention and launch template updated",
              r.returncode == 0 and states.get("job queue") == "updated" and states.get("log group") == "updated"
              and states.get("launch template", "").startswith("updated")
              and {a["maxTimeSeconds"] for a in queue[0].get("jobStateTimeLimitActions", [])} == {1800}
              and [g.get("retentionInDays") for g in logs.describe_log_groups(
                  logGroupNamePrefix="/aws/batch/qecloud")["logGroups"]] == [14]
              and [m["Ebs"]["VolumeSize"] for m in latest[0]["LaunchTemplateData"].get("BlockDeviceMappings", [])]
              == [40]
              and cr.get("launchTemplate", {}).get("version") == str(latest[0]["VersionNumber"]),
              f"{states} {queue} {cr} {latest} {r.stderr[-800:]}")
        write_config(cwd, h)
        # AWS later finds it INVALID: the next `up` shows why and repairs it, never calls it "exists".
        h.invalidate("qecloud-ce", "CLIENT_ERROR - The instance role was changed")
        r = q("infra", "status")
        check("infra status shows an INVALID environment and why", "INVALID/ENABLED" in r.stdout
              and "The instance role was changed" in r.stdout, r.stdout)
        r = q("infra", "up", "--json")
        ce_item = [i for i in json.loads(r.stdout or "[]") if i["kind"] == "compute environment"]
        check("infra up repairs an INVALID environment", r.returncode == 0 and ce_item
              and ce_item[0]["state"] == "repaired" and "instance role was changed" in ce_item[0]["detail"]
              and [c["status"] for c in h.client("batch").describe_compute_environments()["computeEnvironments"]]
              == ["VALID"], f"{r.stdout[:600]} {r.stderr[-600:]}")

        bad = os.path.join(cwd, "bad.in")
        with open(bad, "w") as f:
            f.write("&control\n calculation = 'scf'\n/\n")
        before = len(h.requests)
        r = q("submit", bad, "--backend", "awsbatch", "--nodes", "3")
        check("invalid input: exit 3, no AWS call", r.returncode == 3 and len(h.requests) == before,
              f"rc={r.returncode} requests={h.requests[before:]}")

        r = q("submit", SILICON, "--backend", "awsbatch", "--nodes", "3", "--json")
        sub = json.loads(r.stdout) if r.returncode == 0 else {}
        check("submit", r.returncode == 0 and sub.get("batch_job_id"), r.stderr)
        check("submit: the cost ceiling counts every attempt", sub.get("estimate", "").startswith(
            "3 attempts × 3 × c5n.large × ") and "boot and image pull" in sub.get("estimate", ""), sub)
        job = sub.get("job_id", "")
        # qecloud.toml moves to another region after the submit: the job is followed where it was submitted
        # (its record names the region, queue, log group and store).
        write_config(cwd, h, region="us-east-1")
        s = wait_final(job)
        check("status SUCCEEDED", s.get("batch_status") == "SUCCEEDED" and s.get("state") == "succeeded"
              and len(s.get("nodes", [])) == 3, json.dumps(s)[:800])
        check("status: the cost says the time before the start is billed too",
              "boot and image pull" in (s.get("cost") or {}).get("line", ""), s.get("cost"))
        r = q("logs", job)
        check("logs show every node", r.returncode == 0 and all(f"[node {i}]" in r.stdout for i in range(3)),
              r.stdout[-800:] + r.stderr)
        out = os.path.join(cwd, "out")
        r = q("fetch", job, "--to", out)
        check("fetch", r.returncode == 0 and os.path.exists(os.path.join(out, "pw.out")), r.stdout + r.stderr)
        r = q("show", job, "--json")
        e = json.loads(r.stdout).get("results", {}).get("total_energy_ry") if r.returncode == 0 else None
        check("show: E = -15.84473648 Ry", e is not None and abs(e - ENERGY) < 1e-8, f"{e} {r.stderr}")
        used = h.reach_of_jobs.get(sub.get("batch_job_id"), {})
        check("the job's nodes ran with the network infra up made", used.get("s3") and used.get("nodes"), used)
        check("the nodes' credentials came from the container endpoint", h.credential_requests >= 3,
              f"{h.credential_requests} requests")
        write_config(cwd, h)

        # A child's link goes down in the first attempt, and the children start seconds after the main (as
        # Batch starts them once the main runs): the main exits "node lost" (75), the retry strategy retries
        # it — only a main node's exit starts a new attempt — and the second attempt succeeds.
        h.first_attempt_faults = ["link-down:1:1"]
        h.child_delays = {1: 2.0, 2: 3.0}
        r = q("submit", SILICON, "--backend", "awsbatch", "--nodes", "3", "--json")
        retried = json.loads(r.stdout).get("job_id", "") if r.returncode == 0 else ""
        s = wait_final(retried, 240)
        h.first_attempt_faults, h.child_delays = [], {}
        bj = json.loads(r.stdout).get("batch_job_id") if r.returncode == 0 else None
        check("a lost child starts a second attempt, which succeeds", s.get("batch_status") == "SUCCEEDED"
              and [x for x in h.retries if x[0] == bj] == [(bj, 1, 75)]
              and abs((s.get("total_energy_ry") or 0) - ENERGY) < 1e-8, f"{json.dumps(s)[:600]} {h.retries}")

        # A node that dies in every attempt: each attempt ends "node lost", and the job fails naming the node.
        h.faults = ["kill-agent:1:1"]
        r = q("submit", SILICON, "--backend", "awsbatch", "--nodes", "3", "--json")
        lost = json.loads(r.stdout).get("job_id", "") if r.returncode == 0 else ""
        s = wait_final(lost, 240)
        h.faults = []
        lost_bj = json.loads(r.stdout).get("batch_job_id") if r.returncode == 0 else None
        check("node lost in every attempt: FAILED with a reason, after 3 attempts",
              s.get("batch_status") == "FAILED" and s.get("status_reason") and "node 1" in s.get("message", "")
              and len([x for x in h.retries if x[0] == lost_bj]) == 2, json.dumps(s)[:800])

        # cancel while running
        r = q("submit", SILICON, "--backend", "awsbatch", "--nodes", "3", "--json")
        cj = json.loads(r.stdout).get("job_id", "") if r.returncode == 0 else ""
        for _ in range(100):
            if status(cj).get("batch_status") == "RUNNING":
                break
            time.sleep(0.2)
        write_config(cwd, h, region="us-east-1")
        r = q("cancel", cj, "--reason", "user changed their mind")
        s = wait_final(cj, 120)
        write_config(cwd, h)
        check("cancel: FAILED with the reason", r.returncode == 0 and s.get("batch_status") == "FAILED"
              and "user changed their mind" in s.get("status_reason", ""), json.dumps(s)[:800] + r.stderr)

        stop_then_resume(h, q, status, wait_final, cwd)

        # Sizing from the instance itself: each node asks for the whole c5n.large (2 vCPUs, 5376 MiB installed,
        # 95 % of it for the job), and a job larger than the compute environment is refused before SubmitJob.
        over = h.node_overrides.get(sub.get("batch_job_id"), {}).get("nodeOverrides") or {}
        asked = (over.get("nodePropertyOverrides") or [{}])[0].get("containerOverrides", {}).get("resourceRequirements")
        check("each node asks for its whole instance", sorted((r["type"], r["value"]) for r in asked or [])
              == [("MEMORY", "5107"), ("VCPU", "2")], asked)
        text = json.dumps(over)
        check("the secret is not in the job's description", "QECLOUD_JOB_SECRET" not in text
              and not re.search(r"\b[0-9a-f]{48}\b", text + json.dumps(h.client("batch").describe_jobs(
                  jobs=[sub.get("batch_job_id")])["jobs"], default=str)), text[:600])
        before = len(h.requests)
        r = q("submit", SILICON, "--backend", "awsbatch", "--nodes", "40")
        check("40 nodes x 2 vCPUs > max_vcpus 64: refused, no SubmitJob", r.returncode == 2 and "80 vCPUs" in r.stderr
              and "max_vcpus 64" in r.stderr and "SubmitJob" not in h.requests[before:], r.stderr)

        # A job of 120 nodes waits RUNNABLE (no capacity here); its status asks about 121 jobs, 100 at a time.
        # (The compute environment still has 64 vCPUs: it waits for MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT.)
        # Nobody cancels it: the queue's time-limit action does (its 60 minutes run 600 times faster here).
        write_config(cwd, h, max_vcpus=1024)
        h.time_limit_scale = 1 / 600
        r = q("submit", SILICON, "--backend", "awsbatch", "--nodes", "120", "--json")
        big = json.loads(r.stdout).get("job_id", "") if r.returncode == 0 else ""
        big_bj = json.loads(r.stdout).get("batch_job_id") if r.returncode == 0 else None
        s = status(big)
        check("status of a 120-node job (DescribeJobs in batches of 100)", s.get("batch_status") in
              ("SUBMITTED", "PENDING", "RUNNABLE") and h.refused_describes == 0, f"{json.dumps(s)[:500]} refused="
              f"{h.refused_describes}")
        s = wait_final(big, 60)
        h.time_limit_scale = 1.0
        check("a job stuck RUNNABLE is cancelled by the queue's time-limit action, and cost nothing",
              s.get("batch_status") == "FAILED" and big_bj in h.time_limit_cancels
              and s.get("status_reason", "").startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")
              and "cost" not in s, json.dumps(s)[:600])
        if s.get("batch_status") != "FAILED":
            q("cancel", big)
            wait_final(big, 60)
        write_config(cwd, h)

        # A bad credential: a clear error, no secret printed.
        wrong = dict(env, AWS_SECRET_ACCESS_KEY="not-the-secret-0123456789")
        r = q("infra", "status", env_=wrong)
        check("bad credential: clear error", r.returncode != 0 and "credentials" in r.stderr
              and "not-the-secret" not in r.stderr + r.stdout, r.stderr)

        r = q("infra", "down", "--delete-data")
        check("infra down", r.returncode == 0, r.stderr)
        batch, iam, logs = h.client("batch"), h.client("iam"), h.client("logs")
        left = []
        left += [c["computeEnvironmentName"] for c in batch.describe_compute_environments()["computeEnvironments"]]
        left += [q_["jobQueueName"] for q_ in batch.describe_job_queues()["jobQueues"]]
        left += [d["jobDefinitionName"] for d in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]]
        left += [x["RoleName"] for x in iam.list_roles()["Roles"] if x["RoleName"].startswith("qecloud")]
        left += [x["InstanceProfileName"] for x in iam.list_instance_profiles()["InstanceProfiles"]]
        left += [g["GroupName"] for g in moto_placement_groups.groups()]
        left += [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
        left += [b["Name"] for b in h.client("s3").list_buckets()["Buckets"]]
        left += [t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"]]
        check("infra down leaves nothing in moto", not left, left)
        left = [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"]
        left += [g["GroupName"] for g in ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [h.vpc]}])["SecurityGroups"]]
        check("infra down removes its endpoint and group, and only them", sorted(left) == ["default", "mpi"], left)
    finally:
        h.close()
        # A rehearse-nodes killed hard leaves its namespaces; say so, then remove them for the next tests.
        time.sleep(1)
        leftover = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        check("no namespace left", not re.search(r"^qc\d+", leftover, re.M), leftover)
        for name in re.findall(r"^(qc\d+\w*)", leftover, re.M):
            for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
                subprocess.run(["kill", "-9", pid])
            subprocess.run(["ip", "netns", "del", name])
        shutil.rmtree(cwd, ignore_errors=True)
        shutil.rmtree(h.work, ignore_errors=True)
    print(f"{len(failures)} failure(s)" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
