"""A fake AWS for the aws cloud provider's end-to-end tests: the EC2 instance metadata service
(IMDSv2: PUT /latest/api/token, then GET /latest/meta-data/placement/region and, when a role is
configured, /latest/meta-data/iam/security-credentials/<role>) and EC2's DescribeInstances Query
API (POST /, filter private-ip-address) answered from a table of instances, with pagination, the
InvalidInstanceID.NotFound error for configured IPs, throttling of the first K calls, and a
request log readable as JSON at GET /_stats. Standard library only.

As a module:
    fake = FakeAws(region="us-test-1", page_size=2)
    fake.add_instance("i-1", "10.0.0.1", tags={"Name": "web"}, az="us-test-1a")
    env = fake.env()   # AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL_EC2, credentials
    ... run cstatsd with env ...
    fake.stats()["describe_instances_calls"]; fake.close()

As a script (serves until interrupted; prints "listening <url>" on the first line):
    python3 fake_aws.py [--port 0] [--config table.json]
    python3 fake_aws.py --self-test
where table.json is {"region": ..., "page_size": N, "throttle_first": K, "throttle_status": 503,
"not_found_ips": [...], "instances": [{"id", "private_ip", "secondary_ips", "ipv6_ips", "az",
"tags": {key: value}}]}.
"""

import argparse
import base64
import http.server
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


class Instance:
    def __init__(self, instance_id, private_ip, tags=None, az="us-test-1a", secondary_ips=(),
                 ipv6_ips=()):
        self.id = instance_id
        self.private_ip = private_ip
        self.tags = dict(tags or {})
        self.az = az
        self.secondary_ips = list(secondary_ips)
        self.ipv6_ips = list(ipv6_ips)

    def addresses(self):
        return [self.private_ip] + self.secondary_ips + self.ipv6_ips

    def xml(self):
        tags = "".join(f"<item><key>{escape(k)}</key><value>{escape(v)}</value></item>"
                       for k, v in self.tags.items())
        private = "".join(
            f"<item><privateIpAddress>{escape(ip)}</privateIpAddress>"
            f"<primary>{'true' if i == 0 else 'false'}</primary></item>"
            for i, ip in enumerate([self.private_ip] + self.secondary_ips))
        v6 = "".join(f"<item><ipv6Address>{escape(ip)}</ipv6Address></item>"
                     for ip in self.ipv6_ips)
        return (f"<item><instanceId>{escape(self.id)}</instanceId>"
                f"<instanceState><code>16</code><name>running</name></instanceState>"
                f"<placement><availabilityZone>{escape(self.az)}</availabilityZone>"
                f"<tenancy>default</tenancy></placement>"
                f"<privateIpAddress>{escape(self.private_ip)}</privateIpAddress>"
                f"<tagSet>{tags}</tagSet>"
                f"<networkInterfaceSet><item><networkInterfaceId>eni-{escape(self.id)}"
                f"</networkInterfaceId><privateIpAddress>{escape(self.private_ip)}"
                f"</privateIpAddress><privateIpAddressesSet>{private}</privateIpAddressesSet>"
                f"<ipv6AddressesSet>{v6}</ipv6AddressesSet></item></networkInterfaceSet></item>")


def error_xml(code, message):
    return (f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{escape(code)}'
            f"</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>fake-request</RequestID></Response>").encode()


class FakeAws:
    def __init__(self, region="us-test-1", page_size=1000, throttle_first=0, throttle_status=503,
                 not_found_ips=(), role=None, port=0):
        """page_size: instances per DescribeInstances page (more → nextToken). throttle_first:
        the first K DescribeInstances calls get throttle_status with RequestLimitExceeded.
        not_found_ips: a call asking about any of them gets InvalidInstanceID.NotFound. role:
        a (name, access key, secret, token) instance role served by the metadata service."""
        self.region = region
        self.page_size = max(1, int(page_size))
        self.throttle_first = int(throttle_first)
        self.throttle_status = int(throttle_status)
        self.not_found_ips = set(not_found_ips)
        self.role = role
        self.instances = []
        self.lock = threading.Condition()
        self.log = {
            "describe_instances_calls": 0,  # every POST with Action=DescribeInstances
            "describe_instances_pages": 0,  # pages answered with 200
            "throttled": 0,
            "not_found_errors": 0,
            "rejected": 0,  # unsigned or malformed requests (400)
            "ips_asked": [],  # every filter value of every call, in order
            "requests": [],  # per call: ips, next_token, status, authorization
            "imds_token_requests": 0,
            "imds_requests": 0,
        }
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, content_type="text/xml;charset=UTF-8"):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def read_body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_PUT(self):
                self.read_body()
                if self.path != "/latest/api/token":
                    return self.reply(404, b"", "text/plain")
                if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(400, b"", "text/plain")
                with outer.lock:
                    outer.log["imds_token_requests"] += 1
                self.reply(200, b"fake-imds-token", "text/plain")

            def do_GET(self):
                if self.path == "/_stats":
                    return self.reply(200, json.dumps(outer.stats()).encode(), "application/json")
                if not self.path.startswith("/latest/"):
                    return self.reply(404, b"", "text/plain")
                with outer.lock:
                    outer.log["imds_requests"] += 1
                if self.headers.get("X-aws-ec2-metadata-token") != "fake-imds-token":
                    return self.reply(401, b"", "text/plain")
                status, body, ctype = outer._imds(self.path)
                self.reply(status, body, ctype)

            def do_POST(self):
                body = self.read_body().decode("utf-8", "replace")
                status, xml = outer._ec2(body, self.headers.get("Authorization", ""))
                self.reply(status, xml)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def add_instance(self, instance_id, private_ip, tags=None, az=None, secondary_ips=(),
                     ipv6_ips=()):
        with self.lock:
            self.instances.append(Instance(instance_id, private_ip, tags, az or self.region + "a",
                                           secondary_ips, ipv6_ips))

    def env(self, credentials=True):
        """The environment that points cstatsd's aws provider at this fake."""
        e = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.url, "AWS_ENDPOINT_URL_EC2": self.url,
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/fake-aws-credentials"}
        if credentials:
            e.update({"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret"})
        return e

    def stats(self):
        with self.lock:
            return json.loads(json.dumps(self.log))

    def wait_for(self, predicate, timeout=20):
        """Waits until predicate(stats dict) is true; returns the stats."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                snapshot = json.loads(json.dumps(self.log))
                if predicate(snapshot):
                    return snapshot
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting on the fake AWS; stats: {snapshot}")
                self.lock.wait(left)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # --- internals (called on the server's threads) ---

    def _imds(self, path):
        if path == "/latest/meta-data/placement/region":
            return 200, self.region.encode(), "text/plain"
        if path == "/latest/meta-data/placement/availability-zone":
            return 200, (self.region + "a").encode(), "text/plain"
        if path == "/latest/meta-data/iam/security-credentials/" and self.role:
            return 200, self.role[0].encode(), "text/plain"
        if self.role and path == "/latest/meta-data/iam/security-credentials/" + self.role[0]:
            doc = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": self.role[1],
                   "SecretAccessKey": self.role[2], "Token": self.role[3],
                   "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                               time.gmtime(time.time() + 3600))}
            return 200, json.dumps(doc).encode(), "application/json"
        return 404, b"", "text/plain"

    def _ec2(self, body, authorization):
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        first = {k: v[0] for k, v in form.items()}
        with self.lock:
            try:
                if first.get("Action") != "DescribeInstances":
                    self.log["rejected"] += 1
                    return 400, error_xml("InvalidAction", f"unsupported: {first.get('Action')}")
                self.log["describe_instances_calls"] += 1
                call = self.log["describe_instances_calls"]
                values = sorted(((k, v) for k, v in first.items()
                                 if k.startswith("Filter.1.Value.")),
                                key=lambda kv: int(kv[0].rsplit(".", 1)[1]))
                ips = [v for _, v in values]
                token = first.get("NextToken", "")
                entry = {"ips": ips, "next_token": token, "authorization": authorization}
                self.log["requests"].append(entry)
                self.log["ips_asked"].extend(ips)
                if not authorization.startswith("AWS4-HMAC-SHA256 Credential=") or \
                        "/ec2/aws4_request" not in authorization:
                    self.log["rejected"] += 1
                    entry["status"] = 400
                    return 400, error_xml("MissingAuthenticationToken", "not signed for ec2")
                if first.get("Filter.1.Name") != "private-ip-address" or not ips:
                    self.log["rejected"] += 1
                    entry["status"] = 400
                    return 400, error_xml("InvalidParameterValue", "filter private-ip-address")
                if call <= self.throttle_first:
                    self.log["throttled"] += 1
                    entry["status"] = self.throttle_status
                    return self.throttle_status, error_xml("RequestLimitExceeded",
                                                           "Request limit exceeded.")
                if self.not_found_ips.intersection(ips):
                    self.log["not_found_errors"] += 1
                    entry["status"] = 400
                    return 400, error_xml("InvalidInstanceID.NotFound",
                                          "The instance ID does not exist")
                wanted = set(ips)
                matches = [i for i in self.instances if wanted.intersection(i.addresses())]
                offset = 0
                if token:
                    try:
                        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
                    except ValueError:
                        entry["status"] = 400
                        return 400, error_xml("InvalidParameterValue", "bad NextToken")
                page = matches[offset:offset + self.page_size]
                more = offset + self.page_size < len(matches)
                self.log["describe_instances_pages"] += 1
                entry["status"] = 200
                xml = (f'<?xml version="1.0" encoding="UTF-8"?>'
                       f'<DescribeInstancesResponse xmlns="{EC2_NS}">'
                       f"<requestId>fake-{call}</requestId><reservationSet>")
                for inst in page:  # one reservation per instance, as autoscaling makes them
                    xml += (f"<item><reservationId>r-{escape(inst.id)}</reservationId>"
                            f"<ownerId>123456789012</ownerId><instancesSet>{inst.xml()}"
                            f"</instancesSet></item>")
                xml += "</reservationSet>"
                if more:
                    next_token = base64.urlsafe_b64encode(
                        str(offset + self.page_size).encode()).decode()
                    xml += f"<nextToken>{next_token}</nextToken>"
                xml += "</DescribeInstancesResponse>"
                return 200, xml.encode()
            finally:
                self.lock.notify_all()


def from_config(cfg, port=0):
    fake = FakeAws(region=cfg.get("region", "us-test-1"), page_size=cfg.get("page_size", 1000),
                   throttle_first=cfg.get("throttle_first", 0),
                   throttle_status=cfg.get("throttle_status", 503),
                   not_found_ips=cfg.get("not_found_ips", ()), port=port)
    for i in cfg.get("instances", []):
        fake.add_instance(i["id"], i["private_ip"], i.get("tags"), i.get("az"),
                          i.get("secondary_ips", ()), i.get("ipv6_ips", ()))
    return fake


def self_test():
    """Exercises the fake over HTTP as the provider would (unsigned details aside)."""
    fake = FakeAws(region="eu-test-1", page_size=1, throttle_first=1, not_found_ips={"10.9.9.9"})
    try:
        fake.add_instance("i-1", "10.0.0.1", {"Name": "a", "k:x": "v"})
        fake.add_instance("i-2", "10.0.0.2", secondary_ips=["10.0.0.22"], ipv6_ips=["2001:db8::2"])

        def call(method, path, body=None, headers=None):
            req = urllib.request.Request(fake.url + path, data=body, method=method,
                                         headers=headers or {})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        status, token = call("PUT", "/latest/api/token",
                             headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        assert status == 200, status
        assert call("GET", "/latest/meta-data/placement/region",
                    headers={"X-aws-ec2-metadata-token": token}) == (200, "eu-test-1")
        assert call("GET", "/latest/meta-data/placement/region")[0] == 401

        auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-test-1/ec2/"
                                 "aws4_request, SignedHeaders=host, Signature=00"}

        def describe(ips, token=""):
            form = {"Action": "DescribeInstances", "Version": "2016-11-15",
                    "Filter.1.Name": "private-ip-address"}
            for n, ip in enumerate(ips, 1):
                form[f"Filter.1.Value.{n}"] = ip
            if token:
                form["NextToken"] = token
            return call("POST", "/", urllib.parse.urlencode(form).encode(), auth)

        status, body = describe(["10.0.0.1"])
        assert status == 503 and "RequestLimitExceeded" in body, (status, body)
        status, body = describe(["10.0.0.1", "10.0.0.22", "2001:db8::2"])
        assert status == 200 and "<instanceId>i-1</instanceId>" in body, body
        assert "<key>k:x</key>" in body and "<nextToken>" in body, body
        next_token = body.split("<nextToken>")[1].split("</nextToken>")[0]
        status, body = describe(["10.0.0.1", "10.0.0.22", "2001:db8::2"], next_token)
        assert status == 200 and "<instanceId>i-2</instanceId>" in body, body
        assert "<nextToken>" not in body and "<ipv6Address>2001:db8::2</ipv6Address>" in body
        status, body = describe(["10.9.9.9"])
        assert status == 400 and "InvalidInstanceID.NotFound" in body, body
        assert call("POST", "/", b"Action=DescribeInstances&Filter.1.Value.1=1.2.3.4")[0] == 400

        status, body = call("GET", "/_stats")
        stats = json.loads(body)
        assert stats["describe_instances_calls"] == 5, stats
        assert stats["describe_instances_pages"] == 2, stats
        assert stats["throttled"] == 1 and stats["not_found_errors"] == 1, stats
        assert stats["rejected"] == 1, stats
        assert stats["ips_asked"][:4] == ["10.0.0.1", "10.0.0.1", "10.0.0.22", "2001:db8::2"]
        assert stats["requests"][2]["next_token"] == next_token, stats
        assert fake.wait_for(lambda s: s["describe_instances_calls"] == 5)
    finally:
        fake.close()
    print("fake_aws self-test: ok")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", help="a JSON table of instances and behaviour")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return 0
    cfg = {}
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            cfg = json.load(f)
    fake = from_config(cfg, args.port)
    print(f"listening {fake.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
