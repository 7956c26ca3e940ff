"""Settings for every pytest run, unit tests and nbval alike (kernels inherit this environment)."""

import os

# Committed notebook outputs contain no progress bars; set before any kernel starts.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
