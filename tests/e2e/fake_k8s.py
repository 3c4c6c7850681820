"""A fake Kubernetes API server on loopback for the k8s cloud provider's end-to-end tests: the
pods of a cluster as `GET /api/v1/pods` serves them, a paged list (limit/continue) or, with
watch=1, a chunked stream of JSON event lines (one per line: ADDED, MODIFIED, DELETED, BOOKMARK,
ERROR) replayed from the requested resourceVersion and then live, ended at timeoutSeconds;
fieldSelector=spec.nodeName=<node> is honoured. The test changes the pods at run time
(add_pod/modify_pod/delete_pod push the events to the open watches), can expire old resource
versions (410 Gone), end the watches, script failures, require a bearer token, and reads the
request log. Standard library only; an ephemeral 127.0.0.1 port and its own threads.

    k8s = FakeK8s(token="t0ken")
    kubeconfig = write_kubeconfig(os.path.join(tmp, "kubeconfig"), k8s.url, token="t0ken")
    k8s.add_pod(make_pod("web-1", "10.1.0.5", annotations={"gostatsd.atlassian.com/team": "a"}))
    ... start cstatsd with [k8s] kubeconfig-path = kubeconfig ...
    k8s.wait_for(lambda reqs: any(r.watch for r in reqs))
    k8s.modify_pod(make_pod("web-1", "10.1.0.5", annotations={...}))
    k8s.close()
"""

import copy
import http.server
import json
import threading
import time
import urllib.parse


def make_pod(name, ip, namespace="default", annotations=None, labels=None, node="node-a",
             phase="Running", host_ip="10.0.0.1", host_network=False, deleting=False,
             created="2024-01-01T00:00:00Z", container_ids=()):
    """A core/v1 Pod object as the API server sends it (ip None or "": no IP yet);
    container_ids: its status.containerStatuses[].containerID ("containerd://<id>")."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{namespace}-{name}",
            "creationTimestamp": created,
            "labels": dict(labels or {}),
            "annotations": dict(annotations or {}),
        },
        "spec": {"nodeName": node, "hostNetwork": bool(host_network), "containers": []},
        "status": {"phase": phase, "hostIP": host_ip},
    }
    if ip:
        pod["status"]["podIP"] = ip
        pod["status"]["podIPs"] = [{"ip": ip}]
    if deleting:
        pod["metadata"]["deletionTimestamp"] = "2024-01-02T00:00:00Z"
    if container_ids:
        pod["status"]["containerStatuses"] = [
            {"name": f"c{i}", "containerID": cid, "ready": True}
            for i, cid in enumerate(container_ids)]
    return pod


def write_kubeconfig(path, server, token=None, context="fake", namespace="default",
                     insecure=False):
    """Writes a kubeconfig whose current-context `context` points at `server` (with a bearer
    token if given); returns the path. JSON is YAML, so no YAML writer is needed."""
    user = {"token": token} if token else {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": f"{context}-cluster",
                      "cluster": dict({"server": server},
                                      **({"insecure-skip-tls-verify": True} if insecure else {}))}],
        "contexts": [{"name": context, "context": {"cluster": f"{context}-cluster",
                                                  "user": f"{context}-user",
                                                  "namespace": namespace}}],
        "users": [{"name": f"{context}-user", "user": user}],
    }
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


class Request:
    def __init__(self, method, path, query, headers):
        self.method = method
        self.path = path
        self.query = query  # dict of str (the first value of each parameter)
        self.headers = headers  # dict, lower-case names
        self.watch = query.get("watch") in ("1", "true")
        self.status = None  # set once answered (for a watch: when the stream starts)
        self.at = time.monotonic()

    def __repr__(self):
        return f"<{self.method} {self.path}?{urllib.parse.urlencode(self.query)} -> {self.status}>"


def _key(pod):
    return f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"


def _status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class FakeK8s:
    def __init__(self, token=None):
        self.token = token  # if set, requests need "Authorization: Bearer <token>" (else 401)
        self.cond = threading.Condition()
        self.pods = {}  # "<namespace>/<name>" -> pod
        self.version = 1000  # the cluster's resourceVersion
        self.history = []  # (seq, resourceVersion, type, object): replayed to late watches
        self.seq = 0  # the last history entry's sequence number
        self.oldest = 0  # watches from a resourceVersion below this get 410 Gone
        self.requests = []
        self.failures = {"list": [], "watch": []}  # (status, body) answers, used in order
        self.end_epoch = 0
        self.closing = False
        self._open = 0  # watch streams being served
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle(self):
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass  # a client closed its keep-alive connection

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                req = Request("GET", url.path, query,
                              {k.lower(): v for k, v in self.headers.items()})
                with outer.cond:
                    outer.requests.append(req)
                    outer.cond.notify_all()
                outer._serve(self, req)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    # --- the cluster ---

    def _event(self, kind, pod):
        self.version += 1
        pod = copy.deepcopy(pod)
        pod["metadata"]["resourceVersion"] = str(self.version)
        self.seq += 1
        self.history.append((self.seq, self.version, kind, pod))
        self.cond.notify_all()
        return pod

    def add_pod(self, pod):
        with self.cond:
            self.pods[_key(pod)] = self._event("ADDED", pod)

    def modify_pod(self, pod):
        with self.cond:
            self.pods[_key(pod)] = self._event("MODIFIED", pod)

    def delete_pod(self, name, namespace="default"):
        with self.cond:
            pod = self.pods.pop(f"{namespace}/{name}")
            self._event("DELETED", pod)

    def set_pods(self, pods):
        """Replaces every pod without any event (as if the watch had missed them): only a list
        sees the change. Usually followed by expire()."""
        with self.cond:
            self.version += 1
            self.pods = {}
            for pod in pods:
                pod = copy.deepcopy(pod)
                pod["metadata"]["resourceVersion"] = str(self.version)
                self.pods[_key(pod)] = pod
            self.cond.notify_all()

    def bookmark(self):
        """A BOOKMARK at the current resourceVersion for the open watches."""
        with self.cond:
            self.seq += 1
            self.history.append((self.seq, self.version, "BOOKMARK", {
                "kind": "Pod", "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self.version)}}))
            self.cond.notify_all()

    def expire(self):
        """Every resourceVersion up to now is too old: the open watches get an ERROR 410 event
        and end; later watches from an old version get one at once (the client must re-list)."""
        with self.cond:
            self.version += 1
            self.oldest = self.version
            self.cond.notify_all()

    def end_watches(self):
        """Ends the open watch streams cleanly (as the server does at timeoutSeconds)."""
        with self.cond:
            self.end_epoch += 1
            self.cond.notify_all()

    def fail_next(self, kind, status, body=None, count=1):
        """The next `count` requests of `kind` ("list" or "watch") answer `status`."""
        body = body if body is not None else _status(status, "InternalError", "scripted failure")
        with self.cond:
            self.failures[kind].extend([(status, body)] * count)

    # --- the request log ---

    def wait_for(self, predicate, timeout=20):
        """Waits until predicate(list of Request) is true; returns the list."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; {len(self.requests)} requests: "
                                         f"{self.requests}")
                self.cond.wait(left)
            return list(self.requests)

    def lists(self):
        with self.cond:
            return [r for r in self.requests if not r.watch]

    def watches(self):
        with self.cond:
            return [r for r in self.requests if r.watch]

    def open_watches(self):
        with self.cond:
            return self._open

    def close(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # --- serving ---

    @staticmethod
    def _selected(pod, selector):
        if not selector:
            return True
        field, _, value = selector.partition("=")
        if field == "spec.nodeName":
            return pod.get("spec", {}).get("nodeName") == value
        if field == "metadata.namespace":
            return pod["metadata"].get("namespace") == value
        return True

    def _send_json(self, h, req, status, obj):
        body = json.dumps(obj).encode()
        with self.cond:
            req.status = status
            self.cond.notify_all()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass

    def _serve(self, h, req):
        if req.path != "/api/v1/pods":
            self._send_json(h, req, 404, _status(404, "NotFound", "the server could not find "
                                                 "the requested resource"))
            return
        if self.token is not None and req.headers.get("authorization") != f"Bearer {self.token}":
            self._send_json(h, req, 401, _status(401, "Unauthorized", "Unauthorized"))
            return
        kind = "watch" if req.watch else "list"
        with self.cond:
            failure = self.failures[kind].pop(0) if self.failures[kind] else None
        if failure:
            self._send_json(h, req, failure[0], failure[1])
        elif req.watch:
            self._watch(h, req)
        else:
            self._list(h, req)

    def _list(self, h, req):
        selector = req.query.get("fieldSelector", "")
        with self.cond:
            items = [copy.deepcopy(p) for k, p in sorted(self.pods.items())
                     if self._selected(p, selector)]
            version = str(self.version)
        start = int(req.query.get("continue") or 0)
        limit = int(req.query.get("limit") or 0) or len(items)
        page = items[start:start + limit]
        meta = {"resourceVersion": version}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
            meta["remainingItemCount"] = len(items) - start - limit
        self._send_json(h, req, 200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta,
                                      "items": page})

    def _watch(self, h, req):
        selector = req.query.get("fieldSelector", "")
        deadline = time.monotonic() + float(req.query.get("timeoutSeconds") or 1800)
        rv_text = req.query.get("resourceVersion", "")
        with self.cond:
            req.status = 200
            self._open += 1
            epoch, oldest = self.end_epoch, self.oldest
            if rv_text in ("", "0"):  # "any": the current state as ADDED events, then live
                backlog = [(0, 0, "ADDED", copy.deepcopy(p)) for _, p in sorted(self.pods.items())]
                since = self.version
            else:
                since = int(rv_text)
                backlog = [e for e in self.history if e[1] > since and e[2] != "BOOKMARK"]
            gone = since < self.oldest
            last_seq = self.seq
            self.cond.notify_all()

        def chunk(data):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

        def send(events):
            for _, _, kind, obj in events:
                if kind in ("BOOKMARK", "ERROR") or self._selected(obj, selector):
                    chunk((json.dumps({"type": kind, "object": obj}) + "\n").encode())

        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            if gone:
                send([(0, 0, "ERROR", _status(410, "Expired", f"too old resource version: "
                                              f"{since} ({oldest})"))])
            else:
                send(backlog)
                while True:
                    with self.cond:
                        def ready():
                            return (self.seq != last_seq or self.closing or
                                    self.end_epoch != epoch or self.oldest != oldest or
                                    time.monotonic() >= deadline)
                        while not ready():
                            self.cond.wait(min(0.2, max(0.01, deadline - time.monotonic())))
                        if self.closing or self.end_epoch != epoch or \
                                time.monotonic() >= deadline:
                            break
                        expired = self.oldest != oldest
                        fresh = [e for e in self.history if e[0] > last_seq]
                        last_seq = self.seq
                    send(fresh)  # what happened before the expiry, then the 410
                    if expired:
                        send([(0, 0, "ERROR", _status(410, "Expired",
                                                      "too old resource version"))])
                        break
            chunk(b"")
        except OSError:
            pass  # the client went away
        finally:
            with self.cond:
                self._open -= 1
                self.cond.notify_all()


def _self_test():
    """python3 fake_k8s.py: a smoke test of the fake itself (list, paging, watch, 410)."""
    import http.client

    k8s = FakeK8s(token="t")

    def get(path):
        conn = http.client.HTTPConnection("127.0.0.1", k8s.port, timeout=10)
        conn.request("GET", path, headers={"Authorization": "Bearer t"})
        return conn.getresponse()

    try:
        k8s.add_pod(make_pod("a", "10.1.0.1"))
        k8s.add_pod(make_pod("b", "10.1.0.2", node="node-b"))
        page = json.loads(get("/api/v1/pods?limit=1").read())
        assert [p["metadata"]["name"] for p in page["items"]] == ["a"], page
        assert page["metadata"]["continue"] == "1", page
        node_b = json.loads(get("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-b").read())
        assert [p["metadata"]["name"] for p in node_b["items"]] == ["b"], node_b
        version = page["metadata"]["resourceVersion"]
        stream = get(f"/api/v1/pods?watch=1&resourceVersion={version}")
        k8s.wait_for(lambda reqs: any(r.watch for r in reqs))
        k8s.modify_pod(make_pod("a", "10.1.0.9"))
        k8s.delete_pod("b")
        k8s.expire()
        kinds = [json.loads(line)["type"] for line in stream]
        assert kinds == ["MODIFIED", "DELETED", "ERROR"], kinds
        gone = json.loads(get(f"/api/v1/pods?watch=1&resourceVersion={version}").readline())
        assert gone["object"]["code"] == 410, gone
        print("ok")
    finally:
        k8s.close()


if __name__ == "__main__":
    _self_test()
