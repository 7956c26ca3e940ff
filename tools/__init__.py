"""Course machinery that no notebook imports: run from the repository root as ``python -m tools.X``.

- ``tools.prepare_models``: make the active profile's models loadable (``make models``);
- ``tools.notebooks``: execute the notebooks headless (``make run``, ``make notebooks``);
- ``tools.hub_rehearsal``: a stand-in Hugging Face cache of the default profile's models
  (``make rehearse``).

``tools`` may import ``helpers``; ``helpers`` never imports ``tools`` (tests/test_structure.py).
"""
