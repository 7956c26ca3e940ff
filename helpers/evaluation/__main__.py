"""Run the evaluation command line: ``python -m helpers.evaluation --help``."""

import sys

from helpers.evaluation.cli import main

sys.exit(main())
