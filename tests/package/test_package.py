"""`make package` (docs/packaging.md): the Debian package, made by CPack from the build tree
(build first: the programs and the man pages are part of `all`), installs in a clean Debian 12
chroot (`dpkg -i`, then `apt-get -f install` for the libraries it depends on), `cstatsd` runs
from PATH, the unit, the sysctl drop-in, the conffile and the man pages are in place, systemd
accepts the unit (`systemd-analyze verify`, in the chroot, where /usr/bin/cstatsd exists), the
default configuration is valid, and a purge takes everything away.

Needs root (chroot), mmdebstrap and Debian's archive (http://deb.debian.org); exits 77 (ctest:
skipped) without root. The chroot (variant apt, plus systemd and man-db) is cached as a tarball
under <build>/package-test/, so only the first run downloads it (about 2 minutes)."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD_DIR = os.environ["CSTATSD_BUILD_DIR"]
MIRROR = os.environ.get("CSTATSD_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE_DIR = os.path.join(BUILD_DIR, "package-test")
CHROOT_TAR = os.path.join(CACHE_DIR, "bookworm-apt-systemd.tar")
UNIT = "/usr/lib/systemd/system/cstatsd.service"
# Instances of it for process hand-overs (docs/restarts.md); not enabled by the package.
TEMPLATE_UNIT = "/usr/lib/systemd/system/cstatsd@.service"
SYSCTL = "/usr/lib/sysctl.d/60-cstatsd.conf"
CONFFILE = "/etc/cstatsd/cstatsd.toml"
# What the server asks for each metrics socket (src/server/server.cc, docs/limits.md).
SOCKET_RECEIVE_BUFFER = 8 << 20


def run(cmd, timeout, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def build_package(out_dir):
    """The .deb, as `make package` makes it, from what the build built (the programs and the man
    pages are part of `all`): CPack only, no compiler."""
    programs = [os.path.join(BUILD_DIR, "bin", p)
                for p in ("cstatsd", "cstatsd-loader", "cstatsd-lambda-extension")]
    pages = [os.path.join(BUILD_DIR, "man", p + ".1.gz") for p in ("cstatsd", "cstatsd-loader")]
    for f in programs + pages:
        if not os.path.isfile(f):
            raise AssertionError(f"{f} is missing: build first (cmake --build {BUILD_DIR})")
    if os.path.getmtime(pages[0]) < os.path.getmtime(programs[0]):
        raise AssertionError(f"{pages[0]} is older than cstatsd: build first")
    cpack = run(["cpack", "-G", "DEB", "-B", out_dir], timeout=600, cwd=BUILD_DIR)
    if cpack.returncode != 0:
        raise AssertionError("cpack failed:\n" + cpack.stdout + cpack.stderr)
    debs = glob.glob(os.path.join(out_dir, "cstatsd_*.deb"))
    if len(debs) != 1:
        raise AssertionError(f"expected one .deb in {out_dir}: {debs}")
    return debs[0]


def chroot_tarball():
    """A clean Debian 12, made once by mmdebstrap and kept under the build tree."""
    if os.path.isfile(CHROOT_TAR):
        return CHROOT_TAR
    os.makedirs(CACHE_DIR, exist_ok=True)
    partial = CHROOT_TAR + ".partial"
    made = run(["mmdebstrap", "--format=tar", "--variant=apt", "--include=systemd,man-db",
                "--quiet", "bookworm", partial, MIRROR], timeout=900)
    if made.returncode != 0:
        raise AssertionError("mmdebstrap failed:\n" + made.stderr[-4000:])
    os.rename(partial, CHROOT_TAR)
    return CHROOT_TAR


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(CACHE_DIR, exist_ok=True)
        cls.work = tempfile.mkdtemp(prefix="run-", dir=CACHE_DIR)
        try:
            cls.install()
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)  # tearDownClass does not run
            raise

    @classmethod
    def install(cls):
        cls.deb = build_package(os.path.join(cls.work, "out"))
        cls.root = os.path.join(cls.work, "root")
        os.makedirs(cls.root)
        tar = chroot_tarball()
        unpacked = run(["tar", "-C", cls.root, "-xf", tar], timeout=300)
        if unpacked.returncode != 0:
            raise AssertionError(unpacked.stderr)
        shutil.copy("/etc/resolv.conf", os.path.join(cls.root, "etc", "resolv.conf"))
        shutil.copy(cls.deb, os.path.join(cls.root, "tmp", "cstatsd.deb"))
        # dpkg -i stops at the missing libraries; apt-get -f install fetches them and configures.
        cls.dpkg = cls.chroot(["dpkg", "-i", "/tmp/cstatsd.deb"], timeout=120)
        update = cls.chroot(["apt-get", "update", "-qq"], timeout=300)
        if update.returncode != 0:
            raise AssertionError("apt-get update in the chroot failed:\n" + update.stderr)
        cls.fix = cls.chroot(["apt-get", "-f", "install", "-y", "-qq"], timeout=600)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def chroot(cls, cmd, timeout=60):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LANG": "C.UTF-8"}
        return run(["chroot", cls.root] + cmd, timeout=timeout, env=env)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def test_1_installs_with_its_dependencies(self):
        self.assertEqual(self.fix.returncode, 0, self.dpkg.stderr + self.fix.stderr)
        status = self.chroot(["dpkg-query", "-W", "-f=${Status}", "cstatsd"])
        self.assertEqual(status.stdout, "install ok installed", status.stderr)
        # dpkg-shlibdeps wrote the libraries the programs link, which apt brought in.
        depends = self.chroot(["dpkg-query", "-W", "-f=${Depends}", "cstatsd"]).stdout
        for lib in ("libc6", "libstdc++6", "libcurl4", "libmicrohttpd12", "libprotobuf32"):
            self.assertIn(lib, depends)

    def test_2_programs_run_from_path(self):
        which = self.chroot(["sh", "-c", "command -v cstatsd"])
        self.assertEqual(which.stdout.strip(), "/usr/bin/cstatsd")
        version = self.chroot(["cstatsd", "--version"])
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertRegex(version.stdout + version.stderr, r"Version: \d+\.\d+\.\d+")
        loader = self.chroot(["cstatsd-loader", "--help"])
        self.assertEqual(loader.returncode, 0, loader.stderr)
        self.assertIn("--line-rate", loader.stdout)
        for name in ("cstatsd", "cstatsd-loader", "cstatsd-lambda-extension"):
            sections = run(["readelf", "-S", "-W", self.path("/usr/bin/" + name)], timeout=30)
            self.assertEqual(sections.returncode, 0, sections.stderr)
            self.assertNotIn(".debug_info", sections.stdout, name + " is not stripped")

    def test_3_default_configuration_is_a_valid_conffile(self):
        conffiles = self.chroot(["dpkg-query", "-W", "-f=${Conffiles}", "cstatsd"]).stdout
        self.assertIn(CONFFILE, conffiles)
        check = self.chroot(["cstatsd", "--check-config", "--config-path", CONFFILE])
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_4_unit_sysctl_and_man_pages(self):
        self.assertTrue(os.path.isfile(self.path(UNIT)))
        with open(self.path(UNIT)) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/bin/cstatsd --config-path " + CONFFILE, unit)
        verify = self.chroot(["systemd-analyze", "verify", UNIT])
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        # The template unit: an instance of it is what systemd verifies, running as the same
        # dynamic user as cstatsd.service (a port is shared only within one UID).
        with open(self.path(TEMPLATE_UNIT)) as f:
            template = f.read()
        self.assertIn("ExecStart=/usr/bin/cstatsd --config-path " + CONFFILE, template)
        self.assertRegex(template, r"(?m)^DynamicUser=yes$")
        self.assertRegex(template, r"(?m)^User=cstatsd$")
        verify = self.chroot(["systemd-analyze", "verify", TEMPLATE_UNIT.replace("@", "@a")])
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        # The postinst enabled it (no systemd runs in the chroot, so nothing was started).
        self.assertTrue(os.path.islink(
            self.path("/etc/systemd/system/multi-user.target.wants/cstatsd.service")))
        with open(self.path(SYSCTL)) as f:
            m = re.search(r"^net\.core\.rmem_max\s*=\s*(\d+)\s*$", f.read(), re.M)
        self.assertIsNotNone(m)
        self.assertGreaterEqual(int(m.group(1)), SOCKET_RECEIVE_BUFFER)
        for name in ("cstatsd", "cstatsd-loader"):
            where = self.chroot(["man", "-w", name])
            self.assertEqual(where.stdout.strip(), f"/usr/share/man/man1/{name}.1.gz",
                             where.stderr)
        page = self.chroot(["sh", "-c", "zcat /usr/share/man/man1/cstatsd.1.gz"]).stdout
        self.assertIn("metrics\\-addr", page)  # an option of --help, as roff writes it
        self.assertTrue(os.path.isfile(self.path("/usr/share/doc/cstatsd/packaging.md")))
        self.assertTrue(os.path.isfile(self.path("/usr/share/doc/cstatsd/grafana/cstatsd.json")))

    def test_5_purge_removes_it(self):
        purge = self.chroot(["dpkg", "--purge", "cstatsd"], timeout=120)
        self.assertEqual(purge.returncode, 0, purge.stdout + purge.stderr)
        for p in ("/usr/bin/cstatsd", UNIT, SYSCTL, CONFFILE):
            self.assertFalse(os.path.exists(self.path(p)), p)
        self.assertFalse(os.path.lexists(
            self.path("/etc/systemd/system/multi-user.target.wants/cstatsd.service")))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_package: needs root to chroot; skipped")
        sys.exit(77)
    unittest.main()
