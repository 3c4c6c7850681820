"""The k8s cloud provider end to end (issue 7; docs/cloud-providers.md): cstatsd with `cloud-provider = k8s`
and a kubeconfig pointing at a fake API server (fake_k8s.py) that serves a pod list and a watch
stream. UDP senders bind the pods' loopback addresses, so the server sees them as pod IPs.
Tags follow the pods as they change: a pod's annotations and labels become tags and
`<namespace>/<pod>` the source; a MODIFIED event changes the tags; a DELETED pod's IP passes
unchanged; a pod ADDED later is picked up; host-network pods are never used. A failed first
list (403) stops startup.
"""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from fake_k8s import FakeK8s, make_pod, write_kubeconfig  # noqa: E402

WAIT = 30.0
TOKEN = "t0ken"


def env_for(kubeconfig, **keys):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSD_")}
    env["GSD_K8S_KUBECONFIG_PATH"] = kubeconfig
    for k, v in keys.items():
        env["GSD_K8S_" + k.upper()] = v
    return env


class K8sTest(harness.ServerTestCase):
    def setUp(self):
        self.k8s = FakeK8s(token=TOKEN)
        self.addCleanup(self.k8s.close)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.kubeconfig = write_kubeconfig(os.path.join(tmp.name, "kubeconfig"), self.k8s.url,
                                           token=TOKEN)

    def send_until(self, server, source, datagram, pattern):
        """Sends from `source` every 0.3 s until a stdout line fully matches pattern (the
        provider applies a watch event a moment after the fake sends it)."""
        since = len(server.lines())
        server.send(datagram, source=source)
        for _ in range(int(WAIT / 0.3)):
            try:
                return server.wait_for(pattern, since, timeout=0.3)
            except AssertionError:
                server.send(datagram, source=source)
        return server.wait_for(pattern, since, timeout=1)

    def test_tags_follow_the_pods(self):
        self.k8s.add_pod(make_pod("web-1", "127.0.0.2", namespace="shop",
                                  annotations={"gostatsd.atlassian.com/team": "a",
                                               "unrelated": "x"},
                                  labels={"app": "web"}))
        self.k8s.add_pod(make_pod("agent", "127.0.0.4", host_network=True,
                                  annotations={"gostatsd.atlassian.com/team": "infra"}))
        server = self.start(harness.standard_flags(cloud_provider="k8s"),
                            env=env_for(self.kubeconfig, label_tag_regex="^app$"))
        self.send_until(server, "127.0.0.2", "req:1|c",
                        r"stats\.counter\.req\.app\.web\.team\.a\.s\.shop/web-1\.count 1 \d+")
        # A host-network pod is never the answer: its IP is the node's.
        self.send_until(server, "127.0.0.4", "req:4|c",
                        r"stats\.counter\.req\.s\.127\.0\.0\.4\.count 4 \d+")

        self.k8s.modify_pod(make_pod("web-1", "127.0.0.2", namespace="shop",
                                     annotations={"gostatsd.atlassian.com/team": "b"},
                                     labels={"app": "web"}))
        self.send_until(server, "127.0.0.2", "req:2|c",
                        r"stats\.counter\.req\.app\.web\.team\.b\.s\.shop/web-1\.count 2 \d+")

        self.k8s.add_pod(make_pod("api-1", "127.0.0.3", labels={"app": "api"}))
        self.send_until(server, "127.0.0.3", "req:3|c",
                        r"stats\.counter\.req\.app\.api\.s\.default/api-1\.count 3 \d+")

        self.k8s.delete_pod("web-1", namespace="shop")
        self.send_until(server, "127.0.0.2", "req:5|c",
                        r"stats\.counter\.req\.s\.127\.0\.0\.2\.count 5 \d+")

        # Events are enriched the same way.
        server.send("_e{2,2}:up|ok", source="127.0.0.3")
        server.wait_for(r"event: \{Title:up .*Tags:\[app:api\] Source:default/api-1 .*",
                        timeout=WAIT)
        # One list at startup, then watches with the token (no re-list needed).
        self.assertEqual(len(self.k8s.lists()), 1)
        self.assertTrue(self.k8s.watches())
        self.stop_ok(server)

    def test_a_container_id_finds_its_pod_whatever_the_sender(self):
        """DogStatsD origin detection (docs/cloud-providers.md#origin-detection): a line's
        `|c:` container id, or the inode of its container's cgroup directory (found under
        cgroup-path, here a tree made by the test), resolves to its pod's tags and source, over
        the sender's IP; an unknown id or inode falls back to the sender's IP."""
        web = "a" * 64
        agent = "b" * 64
        self.k8s.add_pod(make_pod("web-1", "127.0.0.2", namespace="shop",
                                  annotations={"gostatsd.atlassian.com/team": "a"},
                                  container_ids=[f"containerd://{web}"]))
        self.k8s.add_pod(make_pod("agent", "127.0.0.4", host_network=True,
                                  annotations={"gostatsd.atlassian.com/team": "infra"},
                                  container_ids=[f"cri-o://{agent}"]))
        cgroups = tempfile.TemporaryDirectory()
        self.addCleanup(cgroups.cleanup)
        web_cgroup = os.path.join(cgroups.name, "kubepods.slice", "kubepods-pod1.slice",
                                  f"cri-containerd-{web}.scope")
        os.makedirs(web_cgroup)
        inode = os.stat(web_cgroup).st_ino
        server = self.start(harness.standard_flags(cloud_provider="k8s"),
                            env=env_for(self.kubeconfig, cgroup_path=cgroups.name))
        # A host-network pod, found by its container from an IP no pod has.
        self.send_until(server, "127.0.0.5", f"a:1|c|c:ci-{agent}",
                        r"stats\.counter\.a\.team\.infra\.s\.default/agent\.count 1 \d+")
        # The container wins over the sender's pod IP; the bare id of DogStatsD 1.2 and a
        # ci-,in- pair work too.
        self.send_until(server, "127.0.0.2", f"b:2|c|#k:v|c:{agent}",
                        r"stats\.counter\.b\.k\.v\.team\.infra\.s\.default/agent\.count 2 \d+")
        self.send_until(server, "127.0.0.5", f"c:3|c|c:ci-{web},in-4242",
                        r"stats\.counter\.c\.team\.a\.s\.shop/web-1\.count 3 \d+")
        self.send_until(server, "127.0.0.4", f"i:6|c|c:in-{inode}",
                        r"stats\.counter\.i\.team\.a\.s\.shop/web-1\.count 6 \d+")
        # Not resolved: the sender's IP decides.
        self.send_until(server, "127.0.0.2", "d:4|c|c:in-4242",
                        r"stats\.counter\.d\.team\.a\.s\.shop/web-1\.count 4 \d+")
        self.send_until(server, "127.0.0.5", f"e:5|c|c:ci-{'c' * 64}",
                        r"stats\.counter\.e\.s\.127\.0\.0\.5\.count 5 \d+")
        self.stop_ok(server)

    def test_a_refused_list_stops_startup(self):
        self.k8s.fail_next("list", 403, count=1000)
        r = self.run_binary(harness.standard_flags(cloud_provider="k8s"),
                            env=env_for(self.kubeconfig), timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cloud-provider k8s", r.stderr)
        self.assertIn("403", r.stderr)


if __name__ == "__main__":
    harness.main()
