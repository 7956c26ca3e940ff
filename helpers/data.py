"""Fetch, verify and split the course corpus (introduced in notebook 01)."""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

CORPUS_NAME = "state_of_the_union.txt"
CORPUS_SHA256 = "1bde616ae3fa463f8dc0ce85b6729036f8028bd42511fc55d68189525fccb644"
CORPUS_URL = (
    "https://raw.githubusercontent.com/langchain-ai/langchain/"
    "985496f4be81e2e096a9da5b0a3791033175add7/docs/modules/state_of_the_union.txt"
)
CHUNK_SIZE, CHUNK_OVERLAP = 500, 100


class CorpusError(RuntimeError):
    """The corpus could not be found, verified or downloaded; the message says what to do."""


def data_dir() -> Path:
    """Return the corpus cache: the repository's data/ folder, else a per-user cache."""
    repository = Path(__file__).resolve().parents[1]
    if (repository / "pyproject.toml").is_file():  # a checkout, not an installed copy
        return repository / "data"
    import pooch

    return Path(pooch.os_cache("rerank-lab"))


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _copy_from_mirror(mirror: Path, target: Path) -> None:
    source = mirror / CORPUS_NAME
    if not source.is_file():
        raise CorpusError(
            f"RERANK_DATA_MIRROR={mirror} has no {CORPUS_NAME}. Point it at a folder that holds "
            "the file, or unset it to download from the public URL."
        )
    if sha256_of(source) != CORPUS_SHA256:
        raise CorpusError(
            f"{source} does not match the expected SHA-256 {CORPUS_SHA256}: the mirror holds "
            "another version of the file. Replace it, or unset RERANK_DATA_MIRROR."
        )
    # Copy to a temporary name, then rename: a crash never leaves a partial corpus behind.
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        shutil.copyfileobj(source.open("rb"), tmp)
    os.replace(tmp.name, target)


def _download(target: Path) -> None:
    import pooch

    try:
        # pooch downloads to a temporary file and moves it into place only if the hash matches.
        pooch.retrieve(
            CORPUS_URL,
            known_hash=f"sha256:{CORPUS_SHA256}",
            fname=target.name,
            path=target.parent,
            progressbar=False,
        )
    except ValueError as exc:
        raise CorpusError(f"The downloaded corpus failed its checksum: {exc}") from exc
    except Exception as exc:  # network errors come in many types; the advice is the same
        raise CorpusError(
            f"Could not download {CORPUS_NAME} ({type(exc).__name__}: {exc}). Check the network, "
            "or set RERANK_DATA_MIRROR to a folder holding a copy of the file."
        ) from exc


def corpus_path() -> Path:
    """Return the path of the verified corpus: cache, else mirror, else download."""
    target = data_dir() / CORPUS_NAME
    if target.is_file() and sha256_of(target) == CORPUS_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # a stale or corrupted copy is never used
    mirror = os.environ.get("RERANK_DATA_MIRROR")
    if mirror:
        _copy_from_mirror(Path(mirror).expanduser(), target)
    else:
        _download(target)
    return target


def load_corpus():
    """Load the corpus as LangChain documents, as the seed page does with TextLoader."""
    from langchain_community.document_loaders import TextLoader

    documents = TextLoader(str(corpus_path()), encoding="utf-8").load()
    for document in documents:
        document.metadata["source"] = CORPUS_NAME  # not the machine-specific cache path
    return documents


def split_corpus(documents=None, chunk_size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP):
    """Split documents into overlapping chunks, each with a stable integer ``id`` in metadata."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=overlap)
    chunks = splitter.split_documents(load_corpus() if documents is None else documents)
    for index, chunk in enumerate(chunks):
        chunk.metadata["id"] = index
    return chunks
