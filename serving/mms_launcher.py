"""Start SageMaker's own model server outside a container (run with .venv-serve's python).

This runs the very start-up code of the SageMaker containers: the Hugging Face DLC's
``sagemaker_huggingface_inference_toolkit.mms_model_server.start_model_server`` (default) or the
plain ``sagemaker_inference.model_server.start_model_server``. Four container assumptions are
redirected, nothing else:

* ``/opt/ml``: ``SAGEMAKER_BASE_DIR`` points at ``--base-dir`` (the model is in ``BASE/model``);
* ``/etc/sagemaker-mms.properties``: written to ``BASE/etc/`` instead;
* the toolkit finds "the" MMS by scanning every process on the machine, and refuses when two
  run; here it reads the pid file of its own MMS (``TMPDIR/.model_server.pid``; set TMPDIR per
  server);
* MMS listens on ``127.0.0.1`` rather than ``0.0.0.0``.

Usage: python serving/mms_launcher.py --base-dir BASE [--handler huggingface|default]
The port is ``SAGEMAKER_BIND_TO_PORT`` (8080 by default), as in the container.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-dir", required=True, help="stands in for /opt/ml")
    parser.add_argument("--handler", choices=["huggingface", "default"], default="huggingface")
    args = parser.parse_args(argv)
    base = os.path.abspath(args.base_dir)
    os.environ["SAGEMAKER_BASE_DIR"] = base  # read when sagemaker_inference is imported
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    os.makedirs(os.path.join(base, "etc"), exist_ok=True)
    os.chdir(base)  # the toolkits export models under ./.sagemaker/mms/models

    from sagemaker_inference import model_server

    if args.handler == "huggingface":
        from sagemaker_huggingface_inference_toolkit import mms_model_server as server
    else:
        server = model_server
    config = os.path.join(base, "etc", "sagemaker-mms.properties")
    for module in {model_server, server}:
        module.MMS_CONFIG_FILE = config
        module._retry_retrieve_mms_server_process = _own_mms_process
    generate = model_server._generate_mms_config_properties
    model_server._generate_mms_config_properties = lambda *a, **k: generate(*a, **k).replace(
        "0.0.0.0", "127.0.0.1"
    )
    server.start_model_server()


def _own_mms_process(startup_timeout: int):
    """Return the MMS Java process that this launcher started (its pid file is in TMPDIR)."""
    import tempfile
    import time

    import psutil

    pid_file = os.path.join(tempfile.gettempdir(), ".model_server.pid")
    deadline = time.monotonic() + int(startup_timeout)
    while time.monotonic() < deadline:
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                pid = int(f.readline() or 0)
            try:
                process = psutil.Process(pid)
                if process.status() != psutil.STATUS_ZOMBIE:
                    return process
            except psutil.Error:
                pass
            raise RuntimeError("MMS (Java) exited at start-up: see the lines above")
        time.sleep(0.2)
    raise RuntimeError("multi-model-server did not start a Java process")


if __name__ == "__main__":
    main()
