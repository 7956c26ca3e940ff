"""AWS machinery no notebook imports: the command line, sweep and ``deployed`` (tests, docs).

- ``python -m tools.aws serve [MODEL_DIR] [--port 8080]``: package, serve locally (``make serve``);
- ``python -m tools.aws cleanup [--delete [--yes]] [--region R] [--run NAME] [--any-owner]``:
  list (a dry run by default) or delete what you deployed with the course (``tools.aws.sweep``);
- ``tools.aws.deploy.deployed``: deploy for a block, smoke-tested, deleted in ``finally``.
"""

from tools.aws.deploy import deploy_huggingface, deployed, huggingface_model
from tools.aws.sweep import CONFIRM, find_resources, sweep

__all__ = [
    "CONFIRM", "deploy_huggingface", "deployed", "find_resources", "huggingface_model", "sweep"
]  # fmt: skip
