"""The real services of the end-to-end tests come from Debian packages. ensure() checks that a
service's programs are there and, if not, runs scripts/install-deps.sh (the one place that
installs Debian packages); if they are still missing it fails naming the package."""

import os
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
INSTALL = os.path.join(REPO, "scripts", "install-deps.sh")


def ensure(programs):
    """programs: {path: Debian package}. Returns when every path exists."""
    missing = {p: pkg for p, pkg in programs.items() if not os.path.exists(p)}
    if not missing:
        return
    result = subprocess.run(["bash", INSTALL], capture_output=True, text=True, timeout=1800)
    still = {p: pkg for p, pkg in missing.items() if not os.path.exists(p)}
    if still:
        names = ", ".join(f"{p} (Debian package {pkg})" for p, pkg in still.items())
        raise RuntimeError(f"missing after {INSTALL} (exit {result.returncode}): {names}; "
                           f"install with: apt-get install {' '.join(sorted(set(still.values())))}"
                           + (f"\n{result.stderr.strip()}" if result.stderr.strip() else ""))
