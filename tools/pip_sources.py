"""Print uv's options for the package sources pip is configured with (make venv, serve-venv).

uv reads none of pip's configuration (pip.conf, PIP_* variables). Without this, a machine whose
pip installs from a local mirror or wheel folder (the CPU torch wheel, for one) would get other
wheels from uv. ``--torch`` adds PyTorch's CPU index for the step that installs torch: PyPI's
Linux torch is the CUDA build (about 3 GB with its nvidia-* packages). Usage:
``python tools/pip_sources.py [--torch]`` with the environment's own Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

# Where the CPU builds of every torch release live; TORCH_INDEX= (empty) leaves torch to pip's
# sources (a machine whose mirror already holds the CPU wheel, or one that wants CUDA).
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

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


def torch_options(index: str, timeout_s: float = 10) -> list[str]:
    """Return uv options that add ``index`` (PyTorch's CPU builds); [] when it is empty, and []
    with a note on stderr when it cannot be reached (no internet but a mirror, a firewall)."""
    if not index:
        return []
    try:
        urllib.request.urlopen(f"{index.rstrip('/')}/torch/", timeout=timeout_s).close()
    except (OSError, ValueError) as error:
        print(
            f"note: {index} cannot be reached ({error}), so torch comes from pip's sources; "
            "from PyPI on Linux that is the CUDA build (about 3 GB)",
            file=sys.stderr,
        )
        return []
    return ["--extra-index-url", index]


if __name__ == "__main__":
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    options = uv_options(listing)
    if "--torch" in sys.argv[1:]:
        options += torch_options(os.environ.get("TORCH_INDEX", TORCH_INDEX))
    print(" ".join(options))
