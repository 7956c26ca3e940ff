import functools
import http.server
import threading
from pathlib import Path

import pytest

from helpers import data
from helpers.data import CORPUS_NAME, CorpusError


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(data, "data_dir", lambda: cache)
    return cache


@pytest.fixture
def mirror_text():
    mirror = Path(data.os.environ.get("RERANK_DATA_MIRROR", "")) / CORPUS_NAME
    if not mirror.is_file():
        pytest.skip("RERANK_DATA_MIRROR does not point at a copy of the corpus")
    return mirror.read_bytes()


@pytest.fixture
def http_server(tmp_path):
    """Serve tmp_path/www over real HTTP on a free loopback port."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_mirror_copy_is_verified(empty_cache, mirror_text):
    path = data.corpus_path()
    assert path == empty_cache / CORPUS_NAME
    assert data.sha256_of(path) == data.CORPUS_SHA256


def test_mirror_with_wrong_bytes_is_refused_and_leaves_nothing(empty_cache, tmp_path, monkeypatch):
    bad_mirror = tmp_path / "bad"
    bad_mirror.mkdir()
    (bad_mirror / CORPUS_NAME).write_text("not the speech")
    monkeypatch.setenv("RERANK_DATA_MIRROR", str(bad_mirror))
    with pytest.raises(CorpusError, match="SHA-256"):
        data.corpus_path()
    assert list(empty_cache.iterdir()) == []


def test_mirror_without_the_file_names_the_variable(empty_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("RERANK_DATA_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(CorpusError, match="RERANK_DATA_MIRROR"):
        data.corpus_path()


def test_corrupted_cache_is_replaced(empty_cache, mirror_text):
    (empty_cache / CORPUS_NAME).write_text("truncated")
    assert data.sha256_of(data.corpus_path()) == data.CORPUS_SHA256


def test_download_over_http_is_verified(empty_cache, http_server, mirror_text, monkeypatch):
    root, url = http_server
    (root / CORPUS_NAME).write_bytes(mirror_text)
    monkeypatch.delenv("RERANK_DATA_MIRROR")
    monkeypatch.setattr(data, "CORPUS_URL", f"{url}/{CORPUS_NAME}")
    assert data.sha256_of(data.corpus_path()) == data.CORPUS_SHA256


def test_download_with_wrong_checksum_leaves_no_file(empty_cache, http_server, monkeypatch):
    root, url = http_server
    (root / CORPUS_NAME).write_text("a different speech")
    monkeypatch.delenv("RERANK_DATA_MIRROR", raising=False)
    monkeypatch.setattr(data, "CORPUS_URL", f"{url}/{CORPUS_NAME}")
    with pytest.raises(CorpusError, match="checksum"):
        data.corpus_path()
    assert not (empty_cache / CORPUS_NAME).exists()


def test_failed_download_says_what_to_do(empty_cache, http_server, monkeypatch):
    _, url = http_server
    monkeypatch.delenv("RERANK_DATA_MIRROR", raising=False)
    monkeypatch.setattr(data, "CORPUS_URL", f"{url}/missing.txt")
    with pytest.raises(CorpusError, match="RERANK_DATA_MIRROR"):
        data.corpus_path()
    assert not (empty_cache / CORPUS_NAME).exists()


def test_load_corpus_hides_the_cache_path():
    (document,) = data.load_corpus()
    assert document.metadata == {"source": CORPUS_NAME}
    assert document.page_content.startswith("Madam Speaker, Madam Vice President")


def test_split_matches_the_seed(chunks):
    assert len(chunks) == 96
    assert [c.metadata["id"] for c in chunks] == list(range(len(chunks)))
    assert max(len(c.page_content) for c in chunks) <= data.CHUNK_SIZE
    # Neighbouring chunks overlap: the end of one reappears at the start of the next.
    assert any(chunks[1].page_content[:40] in c.page_content for c in chunks[:1])


def test_split_other_sizes():
    small = data.split_corpus(chunk_size=200, overlap=0)
    assert len(small) > 96
    assert max(len(c.page_content) for c in small) <= 200
