"""Print uv's options for the package sources pip is configured with (make venv, serve-venv).

uv reads none of pip's configuration (pip.conf, PIP_* variables). Without this, a machine whose
pip installs from a local mirror or wheel folder (the CPU torch wheel, for one) would get other
wheels from uv. Usage: ``python tools/pip_sources.py`` with the environment's own Python.
"""

from __future__ import annotations

import subprocess
import sys

UV_OPTIONS = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
}


def uv_options(pip_config_listing: str) -> list[str]:
    """Return uv options for ``pip config list`` output: each source once, pip's index rule."""
    options = ["--index-strategy", "unsafe-best-match"]  # pip takes the best version anywhere
    for line in pip_config_listing.splitlines():
        key, _, value = line.partition("=")
        option = UV_OPTIONS.get(key.rpartition(".")[2])
        for source in value.strip("'\"").split() if option else ():
            if source not in options:
                options += [option, source]
    return options


if __name__ == "__main__":
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    print(" ".join(uv_options(listing)))
