"""A packed, read-only map from name keys to GeoNames rows, for the gazetteer.

A dict of ~330,000 name keys cost ~40 MB of Python objects (a str per key, an int
per row, the dict's table) and left more behind as fragmented heap. Here the same
map is four flat arrays and one block of UTF-8, about 10 MB:

- ``hash(key)`` of every key, sorted (``array('q')``), searched with bisect;
- beside each hash, the key's start and length in one bytes block of every key, to
  confirm a hit (two keys may share a hash), and its value: a row number, or for a
  name several places share, an offset into a packed list of rows.

It is built from arrays and a bytearray that grow as the file is read (never a str
or list per name: those leave the heap fragmented after the load, and a StringIO
holds four bytes per character).

A lookup is a bisect in C and one slice compare, and the extractor makes several per
capitalised run it has not seen before (rules/names.py remembers runs, but a new
article mostly brings new ones). A bisect over all ~330,000 hashes compares ~19 of
them, each read out of the array as a new int. So the top 16 bits of a hash first
pick a bucket (``_bucket_starts``: where each of the 65,536 buckets starts in the
sorted hashes, 256 KB), and the bisect runs inside it, over ~5 hashes: a lookup
takes half to two thirds of the time, with the same answer, since every hash before
the bucket is smaller and every one after it larger.

``hash()`` of a str is salted per process, so the index is built in the process
that uses it (rules/gazetteer.py does, at load) and never saved.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Any

_MULTI = 1 << 31  # a value at or above this is an offset into the shared-name rows
_BUCKET_SHIFT = 48  # a hash's top 16 bits (signed: -32768..32767) pick its bucket
_BUCKET_BIAS = 1 << 15


def _bucket_starts(hashes: array) -> array:
    """Where each bucket starts in a sorted array('q') of hashes, and the end of the
    last: bucket b's hashes are hashes[starts[b]:starts[b + 1]]."""
    import numpy as np  # build time only, see sorted_hashes

    values = np.arange(-_BUCKET_BIAS, _BUCKET_BIAS, dtype=np.int64) << _BUCKET_SHIFT
    starts = np.searchsorted(np.frombuffer(hashes, dtype=np.int64), values)
    return array("I", starts.astype(np.uint32).tobytes()) + array("I", [len(hashes)])


class NameIndex:
    """key -> row (int) or rows (tuple, in the order added); built by IndexBuilder."""

    __slots__ = ("_buckets", "_hashes", "_keys", "_lengths", "_multi", "_starts", "_values")

    def __init__(self, hashes: array, starts: array, lengths: array, values: array,
                 multi: array, keys: bytes | bytearray) -> None:
        self._hashes = hashes
        self._buckets = _bucket_starts(hashes)
        self._starts = starts
        self._lengths = lengths
        self._values = values
        self._multi = multi
        self._keys = keys

    def __len__(self) -> int:
        return len(self._hashes)

    def get(self, key: str) -> int | tuple[int, ...] | None:
        hashes, buckets, code = self._hashes, self._buckets, hash(key)
        bucket = (code >> _BUCKET_SHIFT) + _BUCKET_BIAS  # inline: a call costs as much
        end = buckets[bucket + 1]
        at = bisect_left(hashes, code, buckets[bucket], end)
        while at < end and hashes[at] == code:
            start = self._starts[at]
            if self._keys[start:start + self._lengths[at]] == key.encode():
                value = self._values[at]
                if value < _MULTI:
                    return value
                offset = value - _MULTI
                return tuple(self._multi[offset + 1:offset + 1 + self._multi[offset]])
            at += 1
        return None

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        hashes, buckets, code = self._hashes, self._buckets, hash(key)
        bucket = (code >> _BUCKET_SHIFT) + _BUCKET_BIAS
        end = buckets[bucket + 1]
        at = bisect_left(hashes, code, buckets[bucket], end)
        # Most keys asked for are no name: no entry has their hash, and get() (which
        # compares the key itself) is not called.
        return at < end and hashes[at] == code and self.get(key) is not None


class HashSet:
    """Membership by hash alone, for hints where a false "yes" only costs a lookup
    that then fails (the starts of long names: rules/gazetteer.py ``starts``)."""

    __slots__ = ("_buckets", "_hashes")

    def __init__(self, hashes: array) -> None:
        self._hashes = hashes
        self._buckets = _bucket_starts(hashes)

    def __contains__(self, key: object) -> bool:
        hashes, buckets, code = self._hashes, self._buckets, hash(key)
        bucket = (code >> _BUCKET_SHIFT) + _BUCKET_BIAS
        end = buckets[bucket + 1]
        at = bisect_left(hashes, code, buckets[bucket], end)
        return at < end and hashes[at] == code

    def __len__(self) -> int:
        return len(self._hashes)


def sorted_hashes(hashes: array) -> array:
    """Distinct values of an array('q'), sorted."""
    import numpy as np  # build time only; already loaded by the daemon (pipeline.stories)

    return array("q", np.unique(np.frombuffer(hashes, dtype=np.int64)).tobytes())


class IndexBuilder:
    """Collects (key, row) pairs as they are read, without a Python object per pair."""

    def __init__(self) -> None:
        self._hashes = array("q")
        self._rows = array("I")
        self._starts = array("I")
        self._lengths = array("H")
        self._text = bytearray()

    def add(self, key: str, row: int) -> None:
        data = key.encode()
        self._hashes.append(hash(key))
        self._rows.append(row)
        self._starts.append(len(self._text))
        self._lengths.append(len(data))
        self._text += data

    def build(self) -> NameIndex:
        """The index; the builder is empty afterwards. Each temporary array is dropped
        as soon as it is used: the load's peak, not only its result, is the daemon's."""
        import numpy as np  # build time only, see sorted_hashes

        order = np.argsort(np.frombuffer(self._hashes, dtype=np.int64), kind="stable")
        hashes = np.frombuffer(self._hashes, dtype=np.int64)[order]  # stable: rows keep their order
        starts = np.frombuffer(self._starts, dtype=np.uint32)[order]
        lengths = np.frombuffer(self._lengths, dtype=np.uint16)[order]
        values = np.frombuffer(self._rows, dtype=np.uint32)[order]
        del order
        self._hashes, self._starts, self._lengths, self._rows = (
            array("q"), array("I"), array("H"), array("I"))
        keys, self._text = self._text, bytearray()
        keep = np.ones(len(hashes), dtype=bool)
        multi = array("I")
        if len(hashes) > 1:
            same = hashes[1:] == hashes[:-1]
            shared = np.zeros(len(hashes), dtype=bool)
            shared[1:] |= same
            shared[:-1] |= same
            del same
            keep[shared] = False
            self._merge(np.flatnonzero(shared).tolist(), keys, starts, lengths, values, keep, multi)
        return NameIndex(_packed("q", hashes[keep]), _packed("I", starts[keep]),
                         _packed("H", lengths[keep]), _packed("I", values[keep]), multi, keys)

    @staticmethod
    def _merge(positions: list[int], keys: bytearray, starts: Any, lengths: Any, values: Any,
               keep: Any, multi: array) -> None:
        """Entries with equal hashes: the same key added for several rows (a name many
        places share, or an alias equal to the name), rarely two keys. One entry per
        key, at its first position, its rows (in the order added) in ``multi``.
        In Python: they are a few tens of thousands."""
        merged: dict[bytes, tuple[int, list[int]]] = {}
        for at in positions:
            start = int(starts[at])
            first, rows = merged.setdefault(bytes(keys[start:start + int(lengths[at])]), (at, []))
            if int(values[at]) not in rows:
                rows.append(int(values[at]))
        for first, rows in merged.values():
            keep[first] = True
            if len(rows) > 1:
                values[first] = _MULTI + len(multi)
                multi.append(len(rows))
                multi.extend(rows)


def _packed(typecode: str, values: Any) -> array:
    out = array(typecode)
    out.frombytes(memoryview(values.ravel()).cast("B"))  # one copy, no bytes in between
    return out
