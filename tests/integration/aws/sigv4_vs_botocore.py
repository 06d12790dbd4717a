#!/usr/bin/env python3
"""qecloud's SigV4 signer must agree byte for byte with botocore's on generated requests.

Three families, N_PER_FAMILY each (seeded, so a failure reproduces):
  s3      real botocore S3 client calls (PutObject, GetObject with Range, HeadObject, DeleteObject,
          ListObjectsV2, CreateMultipartUpload, UploadPart, CompleteMultipartUpload) captured just before they
          would be sent: odd and unicode keys, path and virtual-host style, http and https, empty to 1 MiB
          bodies, metadata, session tokens. botocore's URL path must equal our s3_object_path(bucket, key),
          and our Authorization / X-Amz-Date / X-Amz-Content-SHA256 / X-Amz-Security-Token must equal botocore's.
  generic botocore's SigV4Auth on requests to other services (batch, logs, iam, sts, ec2): random paths with
          dot segments and double slashes, repeated and unicode query parameters, header values with odd
          white space, JSON and empty bodies.
  presign botocore's S3 presigned URLs (generate_presigned_url) for GetObject/PutObject: the whole URL.
Usage: sigv4_vs_botocore.py SIGV4_TOOL [N_PER_FAMILY]
"""
import base64
import datetime
import json
import random
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

TOOL = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 400
rng = random.Random(20261124)

KEY_CHARS = list("abcXYZ019-_.~ !$&'()*+,;=:@/%?#[]^`{}|\"<>\\") + ["ü", "é", "日本", "😀", "ß", "Ω"]


def rand_key():
    n = rng.randint(1, 40)
    k = "".join(rng.choice(KEY_CHARS) for _ in range(n))
    if rng.random() < 0.2:
        k = "jobs/" + k + "/output/pw.out"
    if rng.random() < 0.1:
        k = "a//b/./c/../d"
    return k


def rand_text(n=12):
    return "".join(rng.choice(KEY_CHARS[:-6] + ["ü", "日本"]) for _ in range(rng.randint(0, n)))


def creds():
    token = None
    if rng.random() < 0.4:
        token = base64.b64encode(rng.randbytes(rng.randint(20, 300))).decode()
    return Credentials(f"AKIA{rng.randint(10**11, 10**12)}", base64.b64encode(rng.randbytes(30)).decode(), token)


def rand_time():
    return datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        seconds=rng.randint(0, 10**9))


def freeze(t):
    botocore.auth.get_current_datetime = lambda: t.replace(tzinfo=None)


def rand_body():
    r = rng.random()
    if r < 0.3:
        return b""
    if r < 0.9:
        return rng.randbytes(rng.randint(1, 4096))
    return rng.randbytes(1 << 20)


def our_base(c, t, service, region):
    return {"service": service, "region": region, "time": int(t.timestamp()), "access_key": c.access_key,
            "secret": c.secret_key, "token": c.token or ""}


def s3_cases():
    out = []
    for _ in range(N):
        c, t = creds(), rand_time()
        region = rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2"])
        scheme = rng.choice(["http", "https"])
        virtual = rng.random() < 0.4
        bucket = rng.choice(["qecloud-test", "my-bucket-1", "b"])
        endpoint = None if virtual else f"{scheme}://127.0.0.1:{rng.choice([9000, 4566, 80, 443])}"
        cfg = Config(s3={"addressing_style": "virtual" if virtual else "path"}, signature_version="s3v4",
                     request_checksum_calculation="when_required", response_checksum_validation="when_required",
                     retries={"max_attempts": 1})
        client = boto3.client("s3", aws_access_key_id=c.access_key, aws_secret_access_key=c.secret_key,
                              aws_session_token=c.token, region_name=region, config=cfg,
                              endpoint_url=endpoint if endpoint else f"{scheme}://s3.{region}.amazonaws.com")
        key = rand_key()
        body = rand_body()
        op = rng.choice(["put", "get", "head", "delete", "list", "create_mpu", "upload_part", "complete_mpu"])
        captured = {}

        def capture(request, **kw):
            captured["req"] = request
            from botocore.awsrequest import AWSResponse

            class Raw:
                def stream(self, **k):
                    return iter([b""])
            return AWSResponse(request.url, 200, {}, Raw())

        client.meta.events.register("before-send", capture)
        freeze(t)
        try:
            if op == "put":
                kw = {"Metadata": {"qecloud-part-size": str(rng.randint(1, 10**9))}} if rng.random() < 0.3 else {}
                if rng.random() < 0.5:
                    kw["ContentMD5"] = base64.b64encode(__import__("hashlib").md5(body).digest()).decode()
                client.put_object(Bucket=bucket, Key=key, Body=body, **kw)
            elif op == "get":
                a = rng.randint(0, 10**9)
                client.get_object(Bucket=bucket, Key=key, Range=f"bytes={a}-{a + rng.randint(0, 10**8)}")
            elif op == "head":
                client.head_object(Bucket=bucket, Key=key)
            elif op == "delete":
                client.delete_object(Bucket=bucket, Key=key)
            elif op == "list":
                kw = {"ContinuationToken": rand_text(30)} if rng.random() < 0.3 else {}
                client.list_objects_v2(Bucket=bucket, Prefix=rand_key(), **kw)
                key = None
            elif op == "create_mpu":
                client.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"qecloud-part-size": "8388608"})
            elif op == "upload_part":
                client.upload_part(Bucket=bucket, Key=key, UploadId=rand_text(40) or "u", PartNumber=rng.randint(1, 10000),
                                   Body=body)
            else:
                client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=rand_text(40) or "u",
                                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"abc"'}]})
        except Exception:
            pass  # the fake response does not parse for every operation; the request was captured
        req = captured["req"]
        parts = urlsplit(req.url)
        auth = req.headers["Authorization"].decode() if isinstance(req.headers["Authorization"], bytes) else \
            req.headers["Authorization"]
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        ours_add = {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "host", "authorization"}
        headers = []
        for name, value in req.headers.items():
            v = value.decode() if isinstance(value, bytes) else value
            if name.lower() in signed and name.lower() not in ours_add:
                headers.append([name, v])
        sha = req.headers["X-Amz-Content-SHA256"]
        sha = sha.decode() if isinstance(sha, bytes) else sha
        sent_body = req.body if isinstance(req.body, bytes) else (req.body or b"")
        if hasattr(sent_body, "read"):
            sent_body = sent_body.read()
        case = our_base(c, t, "s3", region)
        case.update(mode="header", method=req.method, scheme=parts.scheme, host=parts.netloc.split(":")[0] + (
            "" if parts.port in (None, 80 if parts.scheme == "http" else 443) else f":{parts.port}"),
            query=[list(p) for p in parse_qsl(parts.query, keep_blank_values=True)], headers=headers,
            body_b64=base64.b64encode(sent_body).decode(), unsigned=sha == "UNSIGNED-PAYLOAD")
        if key is not None and op in ("put", "get", "head", "delete", "create_mpu", "upload_part", "complete_mpu"):
            # botocore falls back to path style for bucket names that are not DNS labels ("b")
            case["s3"] = {"bucket": bucket, "key": key, "virtual_host": parts.netloc.startswith(bucket + ".")}
        else:
            case["path"] = parts.path
        expect = {"path": parts.path, "headers": {k.lower(): (v.decode() if isinstance(v, bytes) else v)
                                                  for k, v in req.headers.items()
                                                  if k.lower() in ("authorization", "x-amz-date",
                                                                   "x-amz-security-token", "x-amz-content-sha256")}}
        out.append((f"s3 {op} key={key!r} {req.method} {req.url}", case, expect))
    return out


def generic_cases():
    out = []
    for _ in range(N):
        c, t = creds(), rand_time()
        service = rng.choice(["batch", "logs", "iam", "sts", "ec2"])
        region = rng.choice(["us-east-1", "eu-central-1"])
        host = f"{service}.{region}.amazonaws.com"
        segs = [rng.choice(["v1", "jobs", ".", "..", "", rand_text(6), "a b", "ü"]) for _ in range(rng.randint(0, 5))]
        path = "/" + "/".join(segs)
        from urllib.parse import quote
        wire_path = quote(path, safe="/~")
        params = [(rand_text(8) or "k", rand_text(10)) for _ in range(rng.randint(0, 5))]
        if params and rng.random() < 0.3:
            params.append((params[0][0], rand_text(5)))  # a repeated name
        headers = {"Content-Type": rng.choice(["application/x-amz-json-1.1", "application/x-www-form-urlencoded"])}
        if rng.random() < 0.5:
            headers["X-Amz-Target"] = "AWSBatch.SubmitJob"
        if rng.random() < 0.5:
            headers["X-Custom"] = rng.choice(["  a   b  ", "x\ty", " lead", "trail ", "many    spaces  here"])
        body = json.dumps({"jobName": rand_text(10), "n": rng.randint(0, 99)}).encode() if rng.random() < 0.7 else b""
        scheme = "https"
        req = AWSRequest(method=rng.choice(["GET", "POST", "PUT", "DELETE"]), url=f"{scheme}://{host}{wire_path}",
                         headers=dict(headers), data=body, params=params)
        freeze(t)
        SigV4Auth(c, service, region).add_auth(req)
        case = our_base(c, t, service, region)
        case.update(mode="header", method=req.method, scheme=scheme, host=host, path=wire_path,
                    query=[[k, v] for k, v in params], headers=[[k, v] for k, v in headers.items()],
                    body_b64=base64.b64encode(body).decode())
        expect = {"path": wire_path, "headers": {k.lower(): v for k, v in req.headers.items()
                                                 if k.lower() in ("authorization", "x-amz-date",
                                                                  "x-amz-security-token")}}
        out.append((f"{service} {req.method} {wire_path} params={params!r}", case, expect))
    return out


def presign_cases():
    out = []
    for _ in range(N):
        c, t = creds(), rand_time()
        region = rng.choice(["us-east-1", "eu-west-1"])
        port = rng.choice([9000, 4566])  # default ports are covered by the s3 family (botocore keeps ":80" in a URL)
        scheme = "http"
        client = boto3.client("s3", aws_access_key_id=c.access_key, aws_secret_access_key=c.secret_key,
                              aws_session_token=c.token, region_name=region,
                              endpoint_url=f"{scheme}://127.0.0.1:{port}",
                              config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
        bucket, key = "qecloud-test", rand_key()
        expires = rng.choice([60, 3600, 604800])
        op = rng.choice(["get_object", "put_object"])
        freeze(t)
        url = client.generate_presigned_url(op, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)
        case = our_base(c, t, "s3", region)
        case.update(mode="presign", method="GET" if op == "get_object" else "PUT", scheme=scheme,
                    host=f"127.0.0.1:{port}", query=[], headers=[],
                    s3={"bucket": bucket, "key": key, "virtual_host": False}, expires=expires)
        out.append((f"presign {op} {key!r}", case, {"path": urlsplit(url).path, "url": url}))
    return out


def main():
    cases = s3_cases() + generic_cases() + presign_cases()
    stdin = "".join(json.dumps(c) + "\n" for _, c, _ in cases)
    res = subprocess.run([TOOL], input=stdin, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"FAIL: {TOOL} exited {res.returncode}: {res.stderr[-2000:]}")
        return 1
    got = [json.loads(line) for line in res.stdout.splitlines()]
    if len(got) != len(cases):
        print(f"FAIL: {len(cases)} requests, {len(got)} answers")
        return 1
    bad = 0
    for (what, _, expect), ours in zip(cases, got):
        diffs = []
        if ours["path"] != expect["path"]:
            diffs.append(f"path: ours {ours['path']!r} botocore {expect['path']!r}")
        if "url" in expect and ours.get("url") != expect["url"]:
            diffs.append(f"url:\n      ours     {ours.get('url')}\n      botocore {expect['url']}")
        if "headers" in expect and ours.get("headers") != expect["headers"]:
            diffs.append(f"headers:\n      ours     {ours.get('headers')}\n      botocore {expect['headers']}")
        if diffs:
            bad += 1
            if bad <= 10:
                print(f"MISMATCH {what}\n   " + "\n   ".join(diffs))
    fam = {}
    for what, _, _ in cases:
        fam[what.split()[0] if what.split()[0] in ("presign",) else ("s3" if what.startswith("s3") else "generic")] = \
            fam.get(what.split()[0] if what.split()[0] in ("presign",) else ("s3" if what.startswith("s3") else "generic"), 0) + 1
    print(f"{len(cases)} requests signed ({', '.join(f'{k} {v}' for k, v in sorted(fam.items()))}): "
          f"{len(cases) - bad} identical to botocore {botocore.__version__}, {bad} different")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
