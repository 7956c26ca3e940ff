"""Measure first and second stages with labelled queries and ranx (notebook 03; reused by 06, 07).

``labels``: the query file and the chunk each passage marks; ``runs``: candidates, second-stage
scores and ranx runs; ``fusion``: the hybrid first stage; ``significance``: metrics and corrected
significance; ``decision``: the course's one ship rule. Queries without a relevant passage stay
out of ranx's qrels (Recall, MRR and nDCG). ``from helpers import evaluation as ev``.
"""

from helpers.evaluation.decision import *  # noqa: F403
from helpers.evaluation.fusion import *  # noqa: F403
from helpers.evaluation.labels import *  # noqa: F403
from helpers.evaluation.runs import *  # noqa: F403
from helpers.evaluation.significance import *  # noqa: F403
