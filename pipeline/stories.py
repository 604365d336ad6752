"""Near-duplicate detection for stories (pure): MinHash signatures and LSH bands.

The same wire copy, or a light rewrite of it, published by several outlets is one
story. Each article gets a MinHash signature over word 3-shingles of its title and
lead, cut into bands; articles that share a band are candidates, and the
signatures decide. Bands are stored in the database with an index, so finding a story
costs a few index lookups however large the archive grows, and every daemon sharing
the database sees the same stories.

Items with no body (headline-only feeds) are compared on the content words of the
title instead, since a rewritten headline shares few 3-shingles with the original.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NUM_PERM = 64
BANDS, ROWS = 32, 2  # 32 x 2 = 64: a pair at 0.5 Jaccard shares a band with p > 0.99
LEAD_WORDS = 80
MIN_BODY_WORDS = 12  # fewer words after the title: compare as a headline
THRESHOLD = {"body": 0.5, "title": 0.6}

_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    "a an the of in on at to for from by with and or but as is are was were be been has have had it its "
    "this that these those after before over into near says said say new amid about than up out".split())


@dataclass(frozen=True)
class Signature:
    mode: str  # "body" or "title"
    values: np.ndarray  # uint32[NUM_PERM]

    def to_bytes(self) -> bytes:
        return self.mode[0].encode() + self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        mode = "body" if data[:1] == b"b" else "title"
        return cls(mode, np.frombuffer(data[1:], dtype="<u4").astype(np.uint32))

    @cached_property
    def bands(self) -> list[int]:
        """LSH band keys as signed 63-bit integers (an indexed BIGINT column); worked
        out once: a new story's lookup and its creation both need them."""
        keys = []
        for band in range(BANDS):
            chunk = self.values[band * ROWS:(band + 1) * ROWS].astype("<u4").tobytes()
            digest = hashlib.blake2b(self.mode[0].encode() + bytes([band]) + chunk, digest_size=8).digest()
            keys.append(struct.unpack("<q", digest)[0] >> 1)
        return keys


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))


def shingles(title: str, text: str) -> tuple[str, set[bytes]]:
    """(mode, shingles): 3-word shingles of title + lead, or a headline's content words."""
    head, body = words(title), words(text)[:LEAD_WORDS]
    if len(body) >= MIN_BODY_WORDS:
        tokens = head + body
        return "body", {" ".join(tokens[i:i + 3]).encode() for i in range(max(1, len(tokens) - 2))}
    content = [w for w in head + body if w not in _STOP and len(w) > 1]
    return "title", {w.encode() for w in content}


# MinHash with 64 universal hash functions h(x) = (a*x + b) mod p over a CRC-32 of each
# shingle, vectorised with numpy. (datasketch does the same, but importing it loads
# scipy, about 50 MB of resident memory for a daemon that must stay small.) The
# functions are fixed by the seed: signatures are stored, and must stay comparable.
_PRIME = (1 << 31) - 1
_RNG = np.random.default_rng(20221013)
_A = _RNG.integers(1, _PRIME, size=(NUM_PERM, 1), dtype=np.uint64)
_B = _RNG.integers(0, _PRIME, size=(NUM_PERM, 1), dtype=np.uint64)


def signature(title: str, text: str) -> Signature | None:
    """The article's signature, or None when it has no words to compare."""
    mode, items = shingles(title, text)
    if not items:
        return None
    hashed = np.fromiter((zlib.crc32(item) % _PRIME for item in items), dtype=np.uint64, count=len(items))
    values = ((_A * hashed[np.newaxis, :] + _B) % _PRIME).min(axis=1)
    return Signature(mode, values.astype(np.uint32))


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    if a.mode != b.mode:
        return 0.0
    return float(np.count_nonzero(a.values == b.values)) / NUM_PERM


def same_story(a: Signature, b: Signature) -> bool:
    return similarity(a, b) >= THRESHOLD[a.mode]
