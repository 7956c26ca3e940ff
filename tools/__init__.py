"""Course machinery that no notebook imports: run from the repository root as ``python -m tools.X``.

- ``tools.prepare_models``: make the active profile's models loadable (``make models``);
- ``tools.notebooks``: execute the notebooks headless (``make run``, ``make notebooks``);
- ``tools.hub_rehearsal``: a stand-in Hugging Face cache of the default profile's models
  (``make rehearse``);
- ``tools.bench``: the benchmark harness (``make bench``); notebook 05 runs it as a command
  (``--reuse``, ``--table``, ``ship``) and reads its results.json;
- ``tools.evaluation``: score your own queries and corpus from the command line (docs/your-own.md);
- ``tools.aws``: serve a model folder locally, list and delete what the course deployed;
- ``tools.offline_reranker``: build the offline profile's reranker (``make models`` calls it).

``tools`` may import ``helpers``; ``helpers`` never imports ``tools`` (tests/test_structure.py).
"""
