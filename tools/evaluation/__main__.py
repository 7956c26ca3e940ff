"""Run the evaluation command line: ``python -m tools.evaluation --help``."""

import sys

from tools.evaluation.cli import main

sys.exit(main())
