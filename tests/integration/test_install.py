"""`make install` (README.md#installing): `cmake --install <build> --strip` puts the three programs,
stripped, into <prefix>/bin and the docs into <prefix>/share/doc/cstatsd; the installed programs
run from there. And scripts/install-deps.sh --server asks for no test package."""

import os
import shutil
import subprocess
import tempfile
import unittest

BUILD_DIR = os.environ["CSTATSD_BUILD_DIR"]
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.prefix = tempfile.mkdtemp(prefix="cstatsd-install-")
        self.addCleanup(shutil.rmtree, self.prefix, True)

    def test_install_strips_and_the_programs_run(self):
        out = subprocess.run(["cmake", "--install", BUILD_DIR, "--strip", "--prefix", self.prefix],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        bin_dir = os.path.join(self.prefix, "bin")
        for name in ("cstatsd", "cstatsd-loader", "cstatsd-lambda-extension"):
            path = os.path.join(bin_dir, name)
            self.assertTrue(os.access(path, os.X_OK), path)
            built = os.path.getsize(os.path.join(BUILD_DIR, "bin", name))
            # Stripped: the debug information is most of a built binary.
            self.assertLess(os.path.getsize(path), built, name)
        version = subprocess.run([os.path.join(bin_dir, "cstatsd"), "--version"],
                                 capture_output=True, text=True, timeout=10)
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertIn("Version:", version.stdout + version.stderr)
        loader = subprocess.run([os.path.join(bin_dir, "cstatsd-loader"), "--help"],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(loader.returncode, 0, loader.stderr)
        self.assertIn("--line-rate", loader.stdout)
        doc = os.path.join(self.prefix, "share", "doc", "cstatsd")
        for name in ("README.md", "configuration.md", "limits.md", "examples/cstatsd.toml"):
            self.assertTrue(os.path.isfile(os.path.join(doc, name)), name)

    def test_server_dependencies_leave_the_test_toolchain_out(self):
        script = os.path.join(SOURCE_DIR, "scripts", "install-deps.sh")
        with open(script) as f:
            text = f.read()
        block = text[text.index("SERVER=(") + len("SERVER=("):text.index("TESTS=(")]
        server = {w for line in block.splitlines() for w in line.split("#")[0].split()}
        self.assertIn("libmicrohttpd-dev", server)
        for package in ("libgtest-dev", "libbenchmark-dev", "clang", "influxdb", "prometheus",
                        "graphite-carbon", "nodejs"):
            self.assertNotIn(package, server)
        # Everything is installed on this machine: nothing is missing in either mode.
        for mode in ([], ["--server"]):
            out = subprocess.run(["bash", script, "--print"] + mode, capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, "", mode)
        bad = subprocess.run(["bash", script, "--nonsense"], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(bad.returncode, 2)


if __name__ == "__main__":
    unittest.main()
