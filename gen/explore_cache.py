"""A content-addressed store of exploration results on disk, and the hashes its keys are made of.

Every result ``axmac explore`` computes (the accuracy of one arithmetic on the dataset, the area
of one PE design, the energy of one PE design on one workload) is a JSON document stored under
``build/explore/cache/<kind>/<key[:2]>/<key>.json``. The key is the SHA-256 of everything the
result depends on (:func:`digest`): the model's bytes, the dataset selection, the part of the
point that matters, and the **code version** of what computed it (:func:`code_version`: a hash of
the source files of those modules, so an edit of the golden engine recomputes the accuracies but
not the energies). A rerun finds every document and computes nothing; a changed point, model or
module recomputes only the documents whose key changed.

Documents are written whole (a temporary file renamed over the name) and only by the process that
drives the exploration (workers return their results to it), so a reader never sees half a file;
an unreadable document is treated as missing and recomputed. JSON keeps floats exactly (``repr``
round trip), so a cached result equals the computed one bit for bit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..paths import REPO, build_dir


def canonical(obj) -> str:
    """Canonical JSON text (sorted keys, no spaces) of a JSON-ready value."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def digest(*parts) -> str:
    """SHA-256 (hex) of the canonical JSON of ``parts``."""
    return hashlib.sha256(canonical(list(parts)).encode()).hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.cache
def code_version(*folders: str) -> str:
    """Hash of every ``.py`` file under the given repository folders or files (``"golden"``,
    ``"gen/pe_energy.py"``...), paths included: a code edit there changes it."""
    h = hashlib.sha256()
    for f in folders:
        root = REPO / f
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for p in files:
            if p.is_file():
                h.update(str(p.relative_to(REPO)).encode())
                h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:20]


class Cache:
    """The store (module docstring). ``root=None``: ``build/explore/cache``; ``enabled=False``: nothing
    is read (everything recomputes) but results are still written."""

    def __init__(self, root: str | os.PathLike | None = None, *, enabled: bool = True):
        self.root = Path(root) if root is not None else build_dir("explore", "cache")
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str):
        """The stored document, or ``None``."""
        if self.enabled:
            try:
                doc = json.loads(self.path(kind, key).read_text())
                self.hits += 1
                return doc
            except (OSError, ValueError):
                pass
        self.misses += 1
        return None

    def put(self, kind: str, key: str, doc) -> None:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(canonical(doc))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def stats(self) -> dict:
        return {"root": str(self.root), "hits": self.hits, "misses": self.misses}


__all__ = ["Cache", "canonical", "code_version", "digest", "file_digest"]
