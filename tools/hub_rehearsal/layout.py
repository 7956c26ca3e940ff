"""The Hugging Face cache layout: blobs, refs/main, snapshots of relative links (make rehearse)."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from pathlib import Path


def _blob_hash(path: str, data: bytes, lfs_patterns: list[str]) -> str:
    # As on the Hub: LFS files are named by their SHA-256, other files by their git blob SHA-1.
    if any(fnmatch.fnmatch(Path(path).name, pattern) for pattern in lfs_patterns):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_repo(cache_dir, repo_id: str, files: dict[str, bytes]) -> Path:
    """Lay ``files`` out as a Hub download in ``cache_dir``; return the snapshot folder."""
    repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    attributes = files.get(".gitattributes", b"").decode().splitlines()
    lfs = [line.split()[0] for line in attributes if "filter=lfs" in line]
    hashes = {path: _blob_hash(path, data, lfs) for path, data in sorted(files.items())}
    commit = hashlib.sha1(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    snapshot = repo / "snapshots" / commit
    for path, data in files.items():
        blob = repo / "blobs" / hashes[path]
        if not blob.exists():
            blob.write_bytes(data)
        link = snapshot / path
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def snapshot_path(cache_dir, repo_id: str) -> Path:
    """Return the snapshot folder that refs/main points at, as huggingface_hub resolves it."""
    repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
