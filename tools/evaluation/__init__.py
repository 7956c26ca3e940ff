"""``python -m tools.evaluation``: notebook 03's table of first and second stages for any corpus
and labelled query file (see data/eval/README.md)."""
