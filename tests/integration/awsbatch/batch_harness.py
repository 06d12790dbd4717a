"""AWS Batch for the tests: moto (5.2.1, the machine's Python) as the control plane, run in this process with
request authentication on, and our netns cluster as the execution plane.

moto validates and answers Batch, IAM, EC2, Logs and S3 requests but cannot run containers here, and it drops
what a multi-node job needs. This harness fills exactly those gaps and nothing else:
  - moto has no EC2 placement groups: moto_placement_groups adds them to its EC2 handler (state only).
  - moto ignores SubmitJob's nodeOverrides (and retryStrategy): they are read from the request as moto parses
    it (BatchResponse._get_param) and kept by job id. It keeps a job definition's nodeProperties but leaves them
    out of DescribeJobDefinitions: added back, as AWS answers.
  - moto runs a job's containers with Docker: for multi-node jobs the job's thread instead does what Batch
    does — node jobs "<id>#<i>" appear in DescribeJobs, `qecloud rehearse-nodes` starts the job definition's
    command on N network-namespace nodes with exactly Batch's environment (the nodes reach moto's S3 through a
    forwarded loopback port, as a real job reaches S3 through its VPC), every line a node prints goes to its
    CloudWatch Logs stream (as the awslogs driver would, through moto's Logs API), and the node and parent
    jobs end with the nodes' exit codes: the main node's exit ends the job; TerminateJob stops the nodes.
The nodes are what an awsvpc container is (ECS Developer Guide, "Task networking with the awsvpc network
mode"): besides eth0 each has `ecs-eth0` with the link-local 169.254.172.2/22 — made first, so it is the first
address a node sees, the same on every node —, and its credentials come from the container-credentials endpoint
at 169.254.170.2 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), served by this harness and relayed into each node; the
nodes get no keys in their environment (ECS Developer Guide, "Amazon ECS task IAM role").
Where moto is more permissive than AWS, the harness enforces AWS's documented rule (each cites its document):
  - S3 refuses a request signed for another region than the bucket's with AuthorizationHeaderMalformed and the
    bucket's region (Amazon S3 API Reference, "Error responses": AuthorizationHeaderMalformed; S3 User Guide,
    "Virtual hosting of buckets" / regional endpoints). The harness gives nobody AWS_REGION: on ECS-on-EC2
    a container is not given one (ECS Developer Guide, "Task definition parameters": environment; agents
    before 2026), and qecloud must take its region from qecloud.toml and the job's record.
  - DescribeJobs takes at most 100 job ids (AWS Batch API Reference, DescribeJobs: "A list of up to 100 job
    IDs"); more is a ClientException.
  - A compute environment is CREATING (or UPDATING) for a few reads before it is VALID (AWS Batch User Guide,
    "Compute environment states"); CreateJobQueue refuses one that is not VALID (API Reference,
    CreateJobQueue: "Compute environments must be in the VALID state before you can associate them with a job
    queue"); one made within seconds of its instance profile comes out INVALID with AWS's reason, because IAM
    had not spread it yet (IAM User Guide, "Changes that I make are not always immediately visible"); and one
    made without a serviceRole uses the AWS Batch service-linked role, which AWS allows and moto refuses (API
    Reference, CreateComputeEnvironment: serviceRole).
  - A job is placed only where it fits: a node container asking for more memory than its instance type has
    available, or more vCPUs in all than the compute environment's maxvCpus, stays RUNNABLE (AWS Batch User
    Guide, "Compute resource memory management"; "Jobs stuck in RUNNABLE status"), with the reason AWS gives
    (MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT). Jobs of more nodes than this machine can rehearse also wait
    RUNNABLE, for capacity (CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY).
  - A job's nodes reach only what its network lets them (network_reach): S3 only through a NAT route or an S3
    gateway endpoint on their subnet's route table, never through an internet gateway, since awsvpc tasks get
    no public IP (ECS Developer Guide, "Task networking with the awsvpc network mode"; VPC User Guide,
    "Gateway endpoints for Amazon S3", "Route tables"); each other only when a security group admits all
    traffic from one of their groups and one lets it out (VPC User Guide, "Security group rules"). Otherwise
    rehearse-nodes gets no S3 port, or isolated bridge ports.
  - moto refuses DescribeVpcEndpoints' vpc-id and service-name filters, which EC2 documents (EC2 API
    Reference, DescribeVpcEndpoints), and ignores UpdateComputeEnvironment's computeResources, which AWS
    applies (API Reference, ComputeResourceUpdate): both are answered as AWS would.
  - moto drops a job queue's jobStateTimeLimitActions: kept from CreateJobQueue/UpdateJobQueue, answered in
    DescribeJobQueues and carried out — a job RUNNABLE for an action's reason is cancelled after its
    maxTimeSeconds (× time_limit_scale, which a test shortens) with the action's reason as statusReason; actions AWS refuses (state other than RUNNABLE, action other than CANCEL, maxTimeSeconds
    outside 600-86,400: API Reference, JobStateTimeLimitAction) are a ClientException.
  - S3 refuses PutBucketLifecycleConfiguration without Content-MD5 (or an SDK checksum) (S3 API Reference,
    PutBucketLifecycleConfiguration); CloudWatch Logs refuses a retentionInDays outside its list (CloudWatch
    Logs API Reference, PutRetentionPolicy). moto accepts both.
"""
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # AWSBatchServiceRole etc. exist on AWS
os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from moto.batch import models as batch_models  # noqa: E402
from moto.batch import responses as batch_responses  # noqa: E402
from moto.moto_api import state_manager  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_fixture  # noqa: E402
import moto_placement_groups  # noqa: E402


def operation_of(environ, body):
    """The AWS operation of a request, from its X-Amz-Target, Action= form field or Batch's /v1/<op> path."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    path = environ.get("PATH_INFO", "")
    if path.startswith("/v1/"):
        return path[4:]
    for part in body.split(b"&"):
        if part.startswith(b"Action="):
            return part[7:].decode()
    return f"{environ.get('REQUEST_METHOD')} {path}"


class BatchHarness:
    def __init__(self, qecloud, region="us-east-1"):
        self.qecloud = os.path.abspath(qecloud)
        self.region = region
        self.faults = []        # e.g. ["link-down:1:2"], passed to rehearse-nodes for the next jobs
        self.requests = []      # every operation moto received, in order (for "no create call" checks)
        self.node_overrides = {}
        self.queue_actions = {}  # queue name → its jobStateTimeLimitActions (moto drops them)
        self.time_limit_scale = 1.0  # a test shortens the actions' maxTimeSeconds by this factor
        self.time_limit_cancels = []  # job ids a time-limit action cancelled
        self.refused_describes = 0  # DescribeJobs calls refused for asking about more than 100 jobs
        self.max_run_nodes = 8      # larger jobs wait RUNNABLE for capacity, as on an account with no room
        self.first_attempt_faults = []  # faults for a job's first attempt only (its retry runs clean)
        self.ce_states = {}             # compute environment name → {status, reads, then, reason}
        self.iam_propagation_s = 4.0    # an instance profile younger than this is not usable yet
        self.invalid_environments = 0   # compute environments that came out INVALID
        self.child_delays = {}          # node → seconds: Batch starts the children after the main
        self.retries = []               # (job id, attempt, main node's exit code) of every retry
        self.reach_of_jobs = {}         # job id → network_reach() when its nodes started
        self.work = tempfile.mkdtemp(prefix="qecloud-batch-", dir="/tmp")
        self._procs = set()
        self._lock = threading.Lock()
        self.port = moto_fixture.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.credential_requests = 0  # answered by the container-credentials endpoint
        self._creds_port = moto_fixture.free_port()
        self._creds_path = f"/v2/credentials/{uuid.uuid4()}"
        self._creds_server = self._start_credentials_endpoint()
        self._install_patches()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", self.port, self._counting(app), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._setup_account()

    def _start_credentials_endpoint(self):
        """What the ECS agent serves at 169.254.170.2 for a task with a role: the role's temporary credentials
        (here the test user's keys) as JSON, at the task's own relative URI only."""
        import http.server
        harness = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != harness._creds_path:
                    self.send_response(404)
                    self.end_headers()
                    return
                harness.credential_requests += 1
                expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6))
                body = json.dumps({"AccessKeyId": harness.key_id, "SecretAccessKey": harness.secret, "Token": "",
                                   "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   "RoleArn": "arn:aws:iam::123456789012:role/qecloud-job"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self._creds_port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    # -- moto in this process ------------------------------------------------------------------------------
    def _counting(self, app):
        def wrapped(environ, start_response):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            import io
            environ["wsgi.input"] = io.BytesIO(body)
            if not environ.get("PATH_INFO", "").startswith("/moto-api"):
                with self._lock:
                    self.requests.append(operation_of(environ, body))
                refusal = self._s3_region_refusal(environ) or self._documented_refusal(environ, body)
                if isinstance(refusal, tuple):
                    start_response("400 Bad Request", [("Content-Type", "application/json"),
                                                       ("x-amzn-ErrorType", refusal[1])])
                    return [json.dumps({"__type": refusal[1], "message": refusal[2]}).encode()]
                if refusal:
                    start_response("400 Bad Request", [("Content-Type", "application/xml")])
                    return [refusal.encode()]
                if environ.get("PATH_INFO") == "/v1/describejobs":
                    try:
                        asked = len(json.loads(body or b"{}").get("jobs", []))
                    except ValueError:
                        asked = 0
                    if asked > 100:
                        with self._lock:
                            self.refused_describes += 1
                        start_response("400 Bad Request", [("Content-Type", "application/json"),
                                                           ("x-amzn-ErrorType", "ClientException")])
                        return [json.dumps({"__type": "ClientException",
                                            "message": f"jobs: {asked} job IDs; at most 100 are allowed"}).encode()]
            return app(environ, start_response)
        return wrapped

    # CloudWatch Logs API Reference, PutRetentionPolicy: retentionInDays "Possible values are: 1, 3, 5, …".
    RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)

    @classmethod
    def _documented_refusal(cls, environ, body):
        """AWS's refusal of a request moto lets through (see the module's docstring), as (status, type, body)
        answered by the caller, or None."""
        method, path, qs = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        # S3 API Reference, PutBucketLifecycleConfiguration: "The Content-MD5 or x-amz-sdk-checksum-algorithm
        # header is required for all Amazon S3 PUT requests that contain a lifecycle configuration".
        if method == "PUT" and "lifecycle" in [p.split("=")[0] for p in qs.split("&")] and not (
                environ.get("HTTP_CONTENT_MD5") or environ.get("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM")):
            return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidRequest</Code><Message>Missing "
                    "required header for this request: Content-MD5</Message><RequestId>harness</RequestId></Error>")
        if environ.get("HTTP_X_AMZ_TARGET") == "Logs_20140328.PutRetentionPolicy":
            days = json.loads(body or b"{}").get("retentionInDays")
            if days not in cls.RETENTION_DAYS:
                return ("json", "InvalidParameterException",
                        f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
                        "constraint: Member must satisfy enum value set")
        # AWS Batch API Reference, JobStateTimeLimitAction: state RUNNABLE only, maxTimeSeconds from 600 to
        # 86,400, action CANCEL (for ECS compute environments).
        if path in ("/v1/createjobqueue", "/v1/updatejobqueue"):
            for a in json.loads(body or b"{}").get("jobStateTimeLimitActions") or []:
                if a.get("state") != "RUNNABLE" or a.get("action") != "CANCEL" or \
                        not 600 <= int(a.get("maxTimeSeconds", 0)) <= 86400 or not a.get("reason"):
                    return ("json", "ClientException", f"jobStateTimeLimitActions: {json.dumps(a)} is not valid: "
                            "state must be RUNNABLE, action CANCEL, maxTimeSeconds 600 to 86400")
        return None

    @staticmethod
    def _s3_region_refusal(environ):
        """AWS's answer to an S3 request signed for another region than its bucket's, or None."""
        import re as _re
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = _re.search(r"Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request", auth)
        if not m:
            qs = environ.get("QUERY_STRING", "")
            m = _re.search(r"X-Amz-Credential=[^&]*?%2F\d{8}%2F([^%&]+)%2Fs3%2Faws4_request", qs)
        if not m:
            return None
        bucket = environ.get("PATH_INFO", "/").lstrip("/").split("/")[0]
        from moto.s3.models import s3_backends
        for account in list(s3_backends.keys()):
            b = s3_backends[account]["global"].buckets.get(bucket)
            if b is not None and b.region_name != m.group(1):
                return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AuthorizationHeaderMalformed</Code>"
                        f"<Message>The authorization header is malformed; the region '{m.group(1)}' is wrong; "
                        f"expecting '{b.region_name}'</Message><Region>{b.region_name}</Region>"
                        "<RequestId>harness</RequestId></Error>")
        return None

    def _install_patches(self):
        moto_placement_groups.install()
        self._install_compute_environment_lifecycle()
        # moto 5.2.1 checks a signature against the URL as werkzeug re-quotes it, which decodes %2F in the
        # query: a ListObjectsV2 whose prefix holds '/' fails for every client (boto3 too). Give its checker
        # the query in RFC 3986 form, as SigV4 signs it.
        from urllib.parse import quote, unquote
        from moto.iam import access_control
        original_init = access_control.IAMRequestBase.__init__

        def init(self, account_id, method, path, data, body, headers, action):
            base, sep, query = path.partition("?")
            if sep:
                pairs = [p.partition("=") for p in query.split("&")]
                query = "&".join(quote(unquote(k), safe="-_.~") + e + quote(unquote(v), safe="-_.~")
                                 for k, e, v in pairs)
                path = base + "?" + query
            original_init(self, account_id, method, path, data, body, headers, action)

        access_control.IAMRequestBase.__init__ = init
        # Statuses are set by the execution plane below, never advanced by reads.
        state_manager.set_transition(model_name="batch::job", transition={"progression": "manual", "times": 10**9})
        harness = self
        original_submit = batch_responses.BatchResponse.submitjob

        def submitjob(self):
            answer = original_submit(self)
            job_id = json.loads(answer)["jobId"]
            harness.node_overrides[job_id] = {"nodeOverrides": self._get_param("nodeOverrides"),
                                              "retryStrategy": self._get_param("retryStrategy")}
            return answer

        batch_responses.BatchResponse.submitjob = submitjob
        # moto drops a queue's jobStateTimeLimitActions: kept here by queue name from CreateJobQueue and
        # UpdateJobQueue, and answered in DescribeJobQueues as AWS answers them.
        for op, key in (("createjobqueue", "jobQueueName"), ("updatejobqueue", "jobQueue")):
            def keep(self, _original=getattr(batch_responses.BatchResponse, op), _key=key):
                answer = _original(self)
                actions = self._get_param("jobStateTimeLimitActions")
                if actions is not None:
                    harness.queue_actions[self._get_param(_key).split("/")[-1]] = actions
                return answer
            setattr(batch_responses.BatchResponse, op, keep)
        original_describe_queues = batch_responses.BatchResponse.describejobqueues

        def describejobqueues(self):
            answer = json.loads(original_describe_queues(self))
            for q in answer.get("jobQueues", []):
                if q.get("jobQueueName") in harness.queue_actions:
                    q["jobStateTimeLimitActions"] = harness.queue_actions[q["jobQueueName"]]
            return json.dumps(answer)

        batch_responses.BatchResponse.describejobqueues = describejobqueues
        # moto keeps a multi-node job definition's nodeProperties but leaves them out of DescribeJobDefinitions,
        # where AWS shows them (API Reference, DescribeJobDefinitions: JobDefinition.nodeProperties).
        original_definition = batch_models.JobDefinition.describe

        def describe_definition(definition):
            answer = original_definition(definition)
            if definition.node_properties is not None:
                answer["nodeProperties"] = definition.node_properties
            return answer

        batch_models.JobDefinition.describe = describe_definition
        original_run = batch_models.Job.run

        def run(job):
            if job.job_definition.type != "multinode" or "#" in job.job_id:
                return original_run(job)
            try:
                harness._run_job(job)
            except Exception as e:  # a harness bug must show, not hang the test
                print(f"harness: job {job.job_id}: {e!r}", file=sys.stderr, flush=True)
                job.job_stopped_reason = f"harness error: {e}"
                job._mark_stopped(success=False)

        batch_models.Job.run = run

    def _setup_account(self):
        admin = dict(aws_access_key_id="setup", aws_secret_access_key="setup", region_name=self.region,
                     endpoint_url=self.endpoint)
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="qecloud-test")
        iam.put_user_policy(UserName="qecloud-test", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="qecloud-test")["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        # The user's own network, which qecloud.toml names: the account's default VPC as AWS makes it (VPC User
        # Guide, "Default VPCs": an internet gateway, the main route table sending 0.0.0.0/0 to it, a default
        # subnet per zone that gives public IPv4 addresses on launch), a group of the user's that admits
        # nothing from the nodes (new groups let all traffic out and nothing in), and a private subnet with no
        # route out at all.
        ec2 = boto3.client("ec2", **admin)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                  {"Name": "association.main", "Values": ["true"]}])
        ec2.create_route(RouteTableId=main["RouteTables"][0]["RouteTableId"], DestinationCidrBlock="0.0.0.0/0",
                         GatewayId=igw)
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        by_zone = {x["AvailabilityZone"]: x["SubnetId"] for x in subnets if x.get("DefaultForAz")}
        self.vpc = vpc
        self.subnet = by_zone[self.region + "a"]
        self.other_zone_subnet = by_zone[self.region + "b"]
        self.security_group = ec2.create_security_group(GroupName="mpi", Description="MPI nodes",
                                                        VpcId=vpc)["GroupId"]
        other = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        self.private_subnet = ec2.create_subnet(VpcId=other, CidrBlock="10.9.1.0/24",
                                                AvailabilityZone=self.region + "a")["Subnet"]["SubnetId"]
        req = urllib.request.Request(self.endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=10).read()
        with self._lock:
            self.requests.clear()

    def env(self, **extra):
        # No AWS_REGION, AWS_DEFAULT_REGION or profile: the region comes from qecloud.toml and the job's record.
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update(AWS_ACCESS_KEY_ID=self.key_id, AWS_SECRET_ACCESS_KEY=self.secret,
                 AWS_ENDPOINT_URL=self.endpoint, AWS_EC2_METADATA_DISABLED="true",
                 AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                 QECLOUD_AWS_POLL_SECONDS="0.2")  # AWS is polled every 10 s; moto answers at once
        e.update(extra)
        return e

    def client(self, service):
        return boto3.client(service, aws_access_key_id=self.key_id, aws_secret_access_key=self.secret,
                            region_name=self.region, endpoint_url=self.endpoint,
                            config=Config(retries={"max_attempts": 1}))

    # -- the execution plane ---------------------------------------------------------------------------------
    def _install_compute_environment_lifecycle(self):
        harness = self
        # AWS names Batch's service-linked role AWSServiceRoleForBatch (AWS Batch User Guide, "Using
        # service-linked roles"); moto's name table lacks Batch and would make "AWSServiceRoleForbatch".
        from moto.iam import models as iam_models
        iam_models.SERVICE_NAME_CONVERSION.setdefault("batch", "Batch")
        models = batch_models.BatchBackend
        original_create = models.create_compute_environment

        def create(backend, compute_environment_name, _type, state, compute_resources, service_role, tags=None):
            if not service_role:  # AWS: the service-linked role (made on first use)
                iam = backend.iam_backend
                try:
                    service_role = iam.get_role("AWSServiceRoleForBatch").arn
                except Exception:
                    service_role = iam.create_service_linked_role("batch.amazonaws.com", "", "").arn
            ce = original_create(backend, compute_environment_name, _type, state, compute_resources,
                                 service_role, tags)
            profile = (compute_resources or {}).get("instanceRole", "")
            fresh = harness._profile_age(backend, profile) < harness.iam_propagation_s
            outcome = ("INVALID", f"CLIENT_ERROR - Invalid IamInstanceProfile: {profile}. Verify that the instance "
                                  "profile exists and that AWS Batch has permission to use it.") if fresh else \
                ("VALID", "ComputeEnvironment Healthy")
            with harness._lock:
                harness.ce_states[compute_environment_name] = {"status": "CREATING", "reads": 3, "then": outcome}
                if fresh:
                    harness.invalid_environments += 1
            return ce

        models.create_compute_environment = create
        # moto's VPC endpoints answer DescribeVpcEndpoints filters on type and state only and refuse vpc-id
        # and service-name, which EC2 documents (EC2 API Reference, DescribeVpcEndpoints: Filter.N).
        from moto.ec2.models import vpcs as ec2_vpcs
        endpoint_filter = ec2_vpcs.VPCEndPoint.get_filter_value

        def endpoint_filter_value(endpoint, filter_name, method_name=None):
            if filter_name == "vpc-id":
                return endpoint.vpc_id
            if filter_name == "service-name":
                return endpoint.service_name
            return endpoint_filter(endpoint, filter_name, method_name)

        ec2_vpcs.VPCEndPoint.get_filter_value = endpoint_filter_value
        original_update = models.update_compute_environment

        def update(backend, compute_environment_name, state, compute_resources, service_role):
            answer = original_update(backend, compute_environment_name, state, compute_resources, service_role)
            # moto keeps the old computeResources; AWS applies maxvCpus, subnets, securityGroupIds, the launch
            # template and the image type (API Reference, UpdateComputeEnvironment: ComputeResourceUpdate).
            ce = backend.get_compute_environment(compute_environment_name)
            if compute_resources and ce is not None:
                ce.compute_resources = dict(ce.compute_resources or {}, **{
                    k: v for k, v in compute_resources.items()
                    if k in ("maxvCpus", "subnets", "securityGroupIds", "launchTemplate", "ec2Configuration")})
            name = answer[0]
            with harness._lock:
                st = harness.ce_states.get(name)
                if st and st["status"] == "INVALID":  # Batch looks at it again
                    profile = (backend.get_compute_environment(name).compute_resources or {}).get("instanceRole", "")
                    ok = harness._profile_age(backend, profile) >= harness.iam_propagation_s
                    harness.ce_states[name] = {"status": "UPDATING", "reads": 2,
                                               "then": ("VALID", "ComputeEnvironment Healthy") if ok else
                                               ("INVALID", st.get("reason", ""))}
            return answer

        models.update_compute_environment = update
        original_describe = models.describe_compute_environments

        def describe(backend, environments=None):
            envs = original_describe(backend, environments)
            with harness._lock:
                for e in envs:
                    st = harness.ce_states.get(e["computeEnvironmentName"])
                    if not st:
                        continue
                    if st["status"] in ("CREATING", "UPDATING"):
                        if st["reads"] <= 0:
                            st["status"], st["reason"] = st["then"]
                        st["reads"] -= 1
                    e["status"] = st["status"]
                    e["statusReason"] = st.get("reason", f"{st['status']}")
            return envs

        models.describe_compute_environments = describe
        original_queue = models.create_job_queue

        def create_queue(backend, queue_name, priority, schedule_policy, state, compute_env_order, tags=None):
            for o in compute_env_order or []:
                arn = o.get("computeEnvironment", "")
                name = arn.split("/")[-1]
                st = harness.ce_states.get(name, {"status": "VALID"})
                if st["status"] != "VALID":
                    raise batch_models.ClientException(
                        f"computeEnvironmentOrder: {arn} is {st['status']}; compute environments must be VALID "
                        "to be associated with a job queue")
            return original_queue(backend, queue_name, priority, schedule_policy, state, compute_env_order, tags)

        models.create_job_queue = create_queue

    def network_reach(self, queue_name):
        """What the nodes of a job in this queue can reach, judged from its compute environments' subnets and
        security groups as AWS routes them: {"s3": bool, "nodes": bool, "why": [...]}.

        S3: the containers of a multi-node job run in awsvpc mode and get no public IP (ECS Developer Guide,
        "Task networking with the awsvpc network mode": "tasks aren't given public IP addresses"), so an
        internet gateway does not take them out; a NAT route 0.0.0.0/0 or an S3 gateway endpoint on the
        subnet's route table (VPC User Guide, "Gateway endpoints for Amazon S3") does. The subnet's table is
        the one associated with it, else the VPC's main table (VPC User Guide, "Route tables").
        Nodes: instances reach each other only where a security group admits their traffic — one admitting
        all protocols from a group the instances have (or from anywhere) — and one lets it out (VPC User
        Guide, "Security group rules")."""
        batch = self.client("batch")
        queue = batch.describe_job_queues(jobQueues=[queue_name])["jobQueues"][0]
        arns = [o["computeEnvironment"] for o in queue["computeEnvironmentOrder"]]
        ces = batch.describe_compute_environments(computeEnvironments=arns)["computeEnvironments"]
        return self.reach(sorted({x for ce in ces for x in ce["computeResources"].get("subnets", [])}),
                          sorted({x for ce in ces for x in ce["computeResources"].get("securityGroupIds", [])}))

    def reach(self, subnets, groups):
        """network_reach() for instances in `subnets` with security groups `groups`."""
        ec2 = self.client("ec2")
        why = []
        vpcs = {x["VpcId"] for x in ec2.describe_subnets(SubnetIds=subnets)["Subnets"]}
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": sorted(vpcs)}])["RouteTables"]
        endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
        s3_tables = {t for e in endpoints if e["ServiceName"] == f"com.amazonaws.{self.region}.s3"
                     and e.get("VpcEndpointType") == "Gateway" and e.get("State") == "available"
                     for t in e.get("RouteTableIds", [])}
        s3 = True
        for subnet in subnets:
            table = next((t for t in tables for a in t.get("Associations", []) if a.get("SubnetId") == subnet),
                         None) or next((t for t in tables for a in t.get("Associations", []) if a.get("Main")
                                        and t["VpcId"] in vpcs), None)
            nat = table and any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("NatGatewayId")
                                for r in table.get("Routes", []))
            if not (nat or (table and table["RouteTableId"] in s3_tables)):
                s3 = False
                why.append(f"{subnet}: no NAT route and no S3 gateway endpoint")
        rules = ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"] if groups else []
        admits = any(p.get("IpProtocol") == "-1" and (
            any(g.get("GroupId") in groups for g in p.get("UserIdGroupPairs", []))
            or any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", [])))
            for g in rules for p in g.get("IpPermissions", []))
        lets_out = any(p.get("IpProtocol") == "-1" for g in rules for p in g.get("IpPermissionsEgress", []))
        if not (admits and lets_out):
            why.append(f"security groups {groups}: " + ("nothing lets the traffic out" if admits else
                                                        "none admits all traffic from the nodes' groups"))
        return {"s3": s3, "nodes": admits and lets_out, "why": why}

    @staticmethod
    def _profile_age(backend, profile_arn):
        """Seconds since the instance profile was created (infinite when it is not known here)."""
        for p in backend.iam_backend.instance_profiles.values():
            if p.arn == profile_arn or p.name == profile_arn.split("/")[-1]:
                created = getattr(p, "create_date", None)
                if created is None:
                    return float("inf")
                now = datetime.datetime.now(created.tzinfo) if created.tzinfo else datetime.datetime.utcnow()
                return (now - created).total_seconds()
        return float("inf")

    def invalidate(self, name, reason):
        """A compute environment AWS has since found INVALID (a role changed, a subnet deleted)."""
        with self._lock:
            self.ce_states[name] = {"status": "INVALID", "reason": reason, "reads": 0, "then": ("INVALID", reason)}

    def _unplaceable(self, job, per_node):
        """Why AWS Batch could not place the job, or None: the reason it gives in statusReason."""
        ec2 = self.client("ec2")
        max_vcpus = sum(int((ce.compute_resources or {}).get("maxvCpus", 0)) for ce in job.job_queue.environments)
        total = 0
        for c in per_node:
            req = {r["type"]: int(r["value"]) for r in c.get("resourceRequirements", [])}
            itype = c.get("instanceType")
            if itype:
                t = ec2.describe_instance_types(InstanceTypes=[itype])["InstanceTypes"][0]
                # What the ECS agent registers: installed memory less kernel and platform overhead (AWS's own
                # example: an m4.large's 8192 MiB registers as 7985 MiB, 97.5 %).
                if req.get("MEMORY", 0) > t["MemoryInfo"]["SizeInMiB"] * 0.975:
                    return ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
                            "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue.")
            total += req.get("VCPU", c.get("vcpus", 1))
        if max_vcpus and total > max_vcpus:
            return ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
                    "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue.")
        if len(per_node) > self.max_run_nodes:
            return "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested."
        return None

    def _run_job(self, job):
        deadline = time.time() + 10
        while job.job_id not in self.node_overrides and time.time() < deadline:
            time.sleep(0.02)
        overrides = (self.node_overrides.get(job.job_id) or {}).get("nodeOverrides") or {}
        props = job.job_definition.node_properties
        nodes = int(overrides.get("numNodes", props["numNodes"]))
        per_node = [self._container_for(props, overrides, i, nodes) for i in range(nodes)]
        why = self._unplaceable(job, per_node)
        if why:  # RUNNABLE until someone cancels it, or the queue's time-limit action for that reason does
            job.status = "RUNNABLE"
            job.job_stopped_reason = why  # moto shows it as statusReason
            since = time.time()
            actions = [a for a in self.queue_actions.get(job.job_queue.name, [])
                       if a.get("state") == "RUNNABLE" and why.startswith(a.get("reason", "?"))]
            while not job.stop:
                if any(time.time() - since >= a["maxTimeSeconds"] * self.time_limit_scale for a in actions):
                    # AWS Batch cancels it, logging the action's reason (API Reference, JobStateTimeLimitAction)
                    job.job_stopped_reason = actions[0]["reason"]
                    self.time_limit_cancels.append(job.job_id)
                    break
                time.sleep(0.3)
            job._mark_stopped(success=False)
            return
        main = per_node[0]
        options = (main.get("logConfiguration") or {}).get("options") or {}
        group = options.get("awslogs-group", "/aws/batch/job")
        prefix = options.get("awslogs-stream-prefix", job.job_definition.name)

        strategy = (self.node_overrides.get(job.job_id) or {}).get("retryStrategy") or {}
        attempts = max(1, int(strategy.get("attempts", 1)))
        for attempt in range(1, attempts + 1):
            faults = list(self.faults) + (list(self.first_attempt_faults) if attempt == 1 else [])
            main_code = self._run_attempt(job, per_node, nodes, group, prefix, faults)
            if job.stop or main_code == 0:
                break
            # Only the main node's exit starts a new attempt of a multi-node job (AWS Batch User Guide,
            # "Multi-node parallel jobs"); evaluateOnExit decides whether it does (API Reference, RetryStrategy).
            action = self._evaluate_on_exit(strategy, main_code, "Essential container in task exited",
                                            job.job_stopped_reason or "")
            if action != "RETRY" or attempt == attempts:
                break
            with self._lock:
                self.retries.append((job.job_id, attempt, main_code))
        job.exit_code = main_code
        if not job.stop and main_code != 0:
            job.job_stopped_reason = "Essential container in task exited"
        job._mark_stopped(success=main_code == 0 and not job.stop)

    @staticmethod
    def _evaluate_on_exit(strategy, exit_code, reason, status_reason):
        """AWS's rule: the first evaluateOnExit entry whose every given pattern matches (a trailing * is a
        prefix match) says RETRY or EXIT; when none matches, the job is retried (API Reference,
        EvaluateOnExit)."""
        import fnmatch
        for rule in strategy.get("evaluateOnExit") or []:
            pairs = [(rule.get("onExitCode"), str(exit_code)), (rule.get("onReason"), reason),
                     (rule.get("onStatusReason"), status_reason)]
            if all(p is None or fnmatch.fnmatchcase(v, p) for p, v in pairs):
                return rule.get("action", "").upper()
        return "RETRY"

    def _run_attempt(self, job, per_node, nodes, group, prefix, faults):
        """One attempt: node jobs, the nodes on netns hosts, their logs; returns the main node's exit code."""
        main = per_node[0]
        now = datetime.datetime.now
        job.status = "RUNNABLE"
        time.sleep(0.2)
        job.status = "STARTING"
        job.job_started_at = now()
        node_jobs, streams = [], []
        for i in range(nodes):
            nj = batch_models.Job(job.job_name, job.job_definition, job.job_queue, job.backend,
                                  log_backend=job._log_backend, container_overrides={},
                                  eks_properties_override=None, depends_on=None, parameters=None,
                                  all_jobs=job.all_jobs, timeout=None, array_properties={},
                                  provided_job_id=f"{job.job_id}#{i}")
            stream = f"{prefix}/default/{uuid.uuid4().hex}"
            nj.status = "RUNNING"
            nj.job_started_at = now()
            nj.log_stream_name = stream
            nj._start_attempt()
            job.backend._jobs[nj.job_id] = nj
            node_jobs.append(nj)
            streams.append(stream)
        job.log_stream_name = streams[0]
        job._start_attempt()
        job.status = "RUNNING"

        work = tempfile.mkdtemp(prefix="job-", dir=self.work)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "HOME": "/root",
               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": self._creds_path, "AWS_ENDPOINT_URL_S3": self.endpoint,
               "AWS_EC2_METADATA_DISABLED": "true", "QECLOUD_AGENT_SLOTS": "1",
               "QECLOUD_AGENT_OVERSUBSCRIBED": "1", "QECLOUD_JOIN_TIMEOUT": "30",
               "QECLOUD_AGENT_WORK": "/tmp/qecloud-agent"}
        node_env = {}
        for i, c in enumerate(per_node):
            node_env[str(i)] = {e["name"]: e["value"] for e in c.get("environment", [])}
        command = list(main.get("command") or ["qecloud", "agent"])
        if command[0] == "qecloud":
            command[0] = self.qecloud
        # The nodes reach S3 (moto, on this host's loopback) and each other only as the job's network allows.
        reach = self.network_reach(job.job_queue.name)
        with self._lock:
            self.reach_of_jobs[job.job_id] = reach
        spec = {"job_id": job.job_id, "nodes": nodes, "command": command, "environment": env,
                "node_environment": node_env, "log_dir": work,
                "forward_ports": [self.port] if reach["s3"] else [], "isolated": not reach["nodes"],
                "ecs_network": True,
                "forwards": [{"inside_address": "169.254.170.2", "inside_port": 80, "host_port": self._creds_port}],
                "faults": faults, "start_delays": {str(k): v for k, v in self.child_delays.items()}}
        spec_path = os.path.join(work, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        proc = subprocess.Popen([self.qecloud, "rehearse-nodes", "--spec", spec_path], stdout=subprocess.PIPE,
                                stderr=open(os.path.join(work, "rehearse.err"), "w"), start_new_session=True)
        with self._lock:
            self._procs.add(proc)
        exits = {}
        started = []

        def read_events():
            for line in proc.stdout:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "started":
                    started.append(ev["node"])
                if ev.get("event") == "exit":
                    exits[ev["node"]] = ev["code"]

        reader = threading.Thread(target=read_events, daemon=True)
        reader.start()
        logs = self.client("logs")
        offsets = [0] * nodes
        for s in streams:
            logs.create_log_stream(logGroupName=group, logStreamName=s)
        terminated_at = None
        while True:
            self._ship_logs(logs, group, streams, work, offsets)
            if proc.poll() is not None:
                break
            # TerminateJob: Batch stops the containers (once they exist: rehearse-nodes has said "started")
            if job.stop and terminated_at is None and started:
                terminated_at = time.time()
                os.killpg(proc.pid, signal.SIGTERM)
            if terminated_at and time.time() - terminated_at > 30:
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.3)
        reader.join(5)
        self._ship_logs(logs, group, streams, work, offsets)
        with self._lock:
            self._procs.discard(proc)
        main_code = exits.get(0, proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)
        for i, nj in enumerate(node_jobs):
            code = exits.get(i, 137)
            nj.exit_code = code
            if code != 0:
                nj.job_stopped_reason = "Essential container in task exited"
            nj._mark_stopped(success=code == 0)
        job._stop_attempt()
        return main_code


    @staticmethod
    def _container_for(props, overrides, index, nodes):
        """The container node `index` runs: the job definition's range for it, then the overrides' (AWS's
        "start:end" ranges, either end open)."""
        def covers(target):
            start, _, end = target.partition(":")
            lo = int(start) if start else 0
            hi = int(end) if end else nodes - 1
            return lo <= index <= hi
        container = {}
        for r in props.get("nodeRangeProperties", []):
            if covers(r["targetNodes"]):
                container = json.loads(json.dumps(r.get("container", {})))
        for o in overrides.get("nodePropertyOverrides", []) or []:
            if not covers(o["targetNodes"]):
                continue
            co = o.get("containerOverrides", {})
            if "environment" in co:
                env = {e["name"]: e["value"] for e in container.get("environment", [])}
                env.update({e["name"]: e["value"] for e in co["environment"]})
                container["environment"] = [{"name": k, "value": v} for k, v in env.items()]
            for k in ("command", "instanceType", "vcpus", "memory", "resourceRequirements"):
                if k in co:
                    container[k] = co[k]
        return container

    @staticmethod
    def _ship_logs(logs, group, streams, work, offsets):
        for i, stream in enumerate(streams):
            path = os.path.join(work, f"node-{i}.log")
            if not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                f.seek(offsets[i])
                data = f.read()
            end = data.rfind(b"\n")
            if end < 0:
                continue
            offsets[i] += end + 1
            lines = data[:end].decode("utf-8", "replace").split("\n")
            stamp = int(time.time() * 1000)
            events = [{"timestamp": stamp, "message": line} for line in lines if line]
            for k in range(0, len(events), 1000):
                logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events[k:k + 1000])

    def close(self):
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._server.shutdown()
        self._creds_server.shutdown()
