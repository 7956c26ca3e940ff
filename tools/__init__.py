"""Course machinery that no notebook imports: run from the repository root as ``python -m tools.X``.

- ``tools.prepare_models``: make the active profile's models loadable (``make models``);
- ``tools.notebooks``: execute the notebooks headless (``make run``, ``make notebooks``);
- ``tools.hub_rehearsal``: a stand-in Hugging Face cache of the default profile's models
  (``make rehearse``).
- ``tools.bench``: the benchmark harness (``make bench``); notebook 05 runs it as a command
  (``--reuse``, ``--table``, ``ship``) and reads its results.json.

``tools`` may import ``helpers``; ``helpers`` never imports ``tools`` (tests/test_structure.py).
"""
