"""Pagefind 1.5's index files, written from the search records (search.py) with numpy.

Pagefind's own indexer costs about 3 s of CPU a county of 1,100 stories when every character is
a word (docs/search.md "Writing the index"); `bundle` writes the same files in a fraction of that.
search.py uses it for the Pagefind versions it was checked against (`search.BUNDLE_VERSIONS`);
tests/test_search.py compares its files, decoded, with what Pagefind's binary writes from the
same records.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor

from .search import LANGUAGE, Record, Runtime, cut, ended

# The format is Pagefind 1.5's (gzip of "pagefind_dcd" + CBOR or JSON):
#
#   pagefind.<hash>.pf_meta   [version, [[fragment, words]…], [[from, to, chunk]…], [], [["date", [page…]]], [meta field…]]
#   index/<hash>.pf_index     [[[word, [[page Δ, [-weight-1, position Δ…], [-field-1, position Δ…]]…], []]…]]
#   fragment/<hash>.pf_fragment  {"url", "content", "word_count", "filters", "meta", "anchors"}
#
# A negative number in a list of positions sets the weight (or meta field) of those after it,
# and the first after it is counted from 0.

BODY, TITLE = 24, 168  #: weights: the text, the title (an h1: 7 × 24); a part of a compound word: a share
CHUNK = 20000  #: positions in an index chunk, as Pagefind cuts them
META_FIELDS = ("date", "filters", "place", "title")  #: a record's meta, in the order the meta file names them
LEVEL = 2  #: gzip: 7 % larger than Pagefind's 9; 4 would save 4 % for an eighth more of the whole CPU
_NOT_WORD = re.compile(r"[^\w]")
_PARTS = re.compile(r"[^\w]+|_+")


def words(item: Record) -> tuple[list[str], int]:
    """The record's words, as its page (`Record.page`) gives them to Pagefind: the text, place,
    authors and tags, then the title; and how many come before the title. (`_words_at` finds
    the same for many records at once.)"""
    body = [*item.text, item.place, "、".join(item.authors), "、".join(item.tags)]
    found = cut(" ".join(ended(b) for b in body if b)).split()
    return found + cut(ended(item.title)).split(), len(found)


def keys(word: str) -> tuple[tuple[str, int], ...]:
    """What the index holds for a word, as Pagefind's indexer does: the word lowercased without
    signs, and the parts of two characters or more of a compound one (COVID-19, foo_bar, e-mail),
    each with what its weight is divided by (1: the word itself; n: one of n parts). A word with
    accents is held under the word without them (`_fold`), as a variant."""
    whole = _NOT_WORD.sub("", word).lower()
    if not whole:
        return ()
    parts = [p.lower() for p in _PARTS.split(word) if len(p) >= 2]
    if parts == [whole]:
        parts = []
    return ((whole, 1), *((p, len(parts)) for p in dict.fromkeys(parts) if p != whole))


def _fold(word: str) -> str:
    """Latin letters without their accents (café → cafe), as Pagefind looks them up."""
    if word.isascii():
        return word
    import unicodedata

    if not any("\u00c0" <= c <= "\u024f" for c in word):
        return word
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", word)
                                                 if not unicodedata.combining(c)))


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 256:
        return bytes((major << 5 | 24, n))
    if n < 65536:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return _head(3, len(data)) + data


def _int(n: int) -> bytes:
    return _head(0, n) if n >= 0 else _head(1, -1 - n)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(b"pagefind_dcd" + data, compresslevel=LEVEL, mtime=0)


def _name(taken: set[str], digest: str, length: int = 7) -> str:
    """und_ and the shortest start of `digest` (at least `length` characters) not yet taken."""
    while f"{LANGUAGE}_{digest[:length]}" in taken and length < len(digest):
        length += 1
    found = f"{LANGUAGE}_{digest[:length]}"
    taken.add(found)
    return found


@functools.cache
def _lengths():
    """The length of the CBOR head of every value below 65536: 1 byte below 24, 2 below 256, else 3."""
    import numpy as np

    value = np.arange(65536)
    return (1 + (value >= 24) + (value >= 256)).astype(np.int8)


def _encode(major, value):
    """CBOR heads of many integers at once (numpy): their bytes, and where each starts."""
    import numpy as np

    if len(value) and int(value.max()) >= 65536:  # a story of more than 65,535 words: the slow way
        return _encode_wide(major, value)
    small = np.int32 if 3 * len(value) < 2**31 else np.int64  # offsets: half the memory to go through
    size = _lengths()[value].astype(small)
    start = np.cumsum(size, dtype=small)
    start -= size
    out = np.empty(int(start[-1] + size[-1]) if len(size) else 0, dtype=np.uint8)
    # The first byte: the major type and the value itself below 24, else 24 (one byte follows)
    # or 25 (two); then the following bytes of the wide ones (about half), the high one first.
    first = np.where(size == 1, value, size + 22).astype(np.uint8)
    first |= major.astype(np.uint8) << 5
    out[start] = first
    wide = np.flatnonzero(size > 1)
    at, wide_value = start[wide] + 1, value[wide]
    two = size[wide] > 2
    out[at] = np.where(two, wide_value >> 8, wide_value).astype(np.uint8)
    widest = np.flatnonzero(two)
    out[at[widest] + 1] = (wide_value[widest] & 255).astype(np.uint8)
    return out, start


def _encode_wide(major, value):
    import numpy as np

    value = value.astype(np.int64)
    steps = (value >= 24).astype(np.int8) + (value >= 256) + (value >= 65536)  # 0, 1, 2, 3
    size = np.array([1, 2, 3, 5], dtype=np.int64)[steps]
    start = np.cumsum(size) - size
    out = np.zeros(int(start[-1] + size[-1]) if len(size) else 0, dtype=np.uint8)
    out[start] = (major.astype(np.uint8) << 5) | np.where(steps == 0, value, steps + 23).astype(np.uint8)
    for length, shifts in ((1, (0,)), (2, (8, 0)), (3, (24, 16, 8, 0))):
        at = np.flatnonzero(steps == length)
        if len(at):
            v, s = value[at], start[at]
            for i, shift in enumerate(shifts):
                out[s + 1 + i] = (v >> shift) & 255
    return out, start


_PAGE, _TITLE = "\x00", "\x01"  #: the ends of a record and the start of its title, in `_words_at`
_NARROW_WORD, _WIDE_WORD = 2, 3


@functools.cache
def _classes():
    """Each character below U+3001 as 0 (one of our marks), 1 (a space to str.split), 2 (of a
    word `cut` keeps whole), 3 (a word alone); every character above is 3 or, U+3000, 1."""
    import numpy as np

    table = np.full(0x3002, _WIDE_WORD, dtype=np.int8)
    table[0x00:0x80] = _NARROW_WORD
    table[0xC0:0x250] = _NARROW_WORD
    table[[c for c in range(0x3002) if chr(c).isspace()]] = 1
    table[[ord(_PAGE), ord(_TITLE)]] = 0
    return table


def _words_at(items: tuple[Record, ...]):
    """`words` of every record at once (numpy over the characters): each record's content (its
    words joined by spaces), the distinct words, and for each word of each record its word's
    number, record, position and whether it is in the title."""
    import numpy as np

    pieces = []
    for item in items:
        body = [*item.text, item.place, "、".join(item.authors), "、".join(item.tags)]
        pieces += [" ".join(ended(b) for b in body if b), _TITLE, ended(item.title), _PAGE]
    text = "".join(pieces)
    if text.count(_PAGE) != len(items) or text.count(_TITLE) != len(items):  # a record holding our marks
        clean = str.maketrans({_PAGE: " ", _TITLE: " "})
        text = "".join(p if p in (_PAGE, _TITLE) else p.translate(clean) for p in pieces)
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    kind = _classes()[np.minimum(chars, 0x3001)]
    narrow = kind == _NARROW_WORD
    before = np.empty_like(narrow)
    before[0], before[1:] = False, narrow[:-1]
    starts = np.flatnonzero((kind == _WIDE_WORD) | (narrow & ~before))
    after = np.empty_like(narrow)
    after[-1:], after[:-1] = False, narrow[1:]
    ends = np.flatnonzero(narrow & ~after) + 1
    # Words kept whole (Latin, numbers): numbered after every character.
    narrow_starts = np.flatnonzero(narrow[starts])
    spans = starts[narrow_starts].tolist()
    latin = [text[a:b] for a, b in zip(spans, ends.tolist())]
    numbers: dict[str, int] = {}
    code = chars[starts].astype(np.int64)
    code[narrow_starts] = 0x110000 + np.fromiter((numbers.setdefault(w, len(numbers)) for w in latin),
                                                 dtype=np.int64, count=len(latin))
    seen = np.flatnonzero(np.bincount(code, minlength=0x110000 + len(numbers)))
    latin_words = list(numbers)
    vocabulary = [chr(c) if c < 0x110000 else latin_words[c - 0x110000] for c in seen.tolist()]
    lookup = np.full(0x110000 + len(numbers), -1, dtype=np.int32)
    lookup[seen] = np.arange(len(seen), dtype=np.int32)
    word_id = lookup[code]
    page = np.searchsorted(np.flatnonzero(chars == ord(_PAGE)), starts).astype(np.int32)
    title = starts > np.flatnonzero(chars == ord(_TITLE))[page]
    lengths = np.bincount(page, minlength=len(items))
    position = (np.arange(len(starts)) - np.repeat(np.cumsum(lengths) - lengths, lengths)).astype(np.int32)
    # The content: the words, a space between two of a record, the records apart.
    keep = (kind >= _NARROW_WORD) | (chars == ord(_PAGE))
    spaced = np.zeros(len(chars), dtype=bool)
    spaced[starts[position > 0]] = True
    kept = chars[keep]
    shift = np.cumsum(spaced[keep])
    out = np.full(len(kept) + (int(shift[-1]) if len(shift) else 0), 32, dtype=np.uint32)
    out[np.arange(len(kept)) + shift] = kept
    contents = out.tobytes().decode("utf-32-le").split(_PAGE)[:-1]
    return contents, vocabulary, word_id, page, position, title


def bundle(items: tuple[Record, ...], run: Runtime) -> dict[str, bytes]:
    """The files of one shard's index (paths below its folder) from its records."""
    import numpy as np

    files: dict[str, bytes] = dict(run.files)
    # Every word of every record, where it is, and each record's text as Pagefind shows it.
    contents, vocabulary, word_id, page, position, title = _words_at(items)
    lengths = np.bincount(page, minlength=len(items))
    # The fragments are written in a thread of their own while the index is computed here (numpy and
    # zlib let go of the interpreter): a build that indexes one county has a core to spare for it.
    with ThreadPoolExecutor(1) as pool:
        written = pool.submit(_fragments, items, contents, lengths.tolist())
        return _index(items, run, files, written, vocabulary, word_id, page, position, title)


def _fragments(items: tuple[Record, ...], contents: list[str], counts: list[int]):
    """What a result shows of each record: {path: file}, [(name, word count)] and the names taken."""
    files, fragments, taken = {}, [], set()
    for item, content, count in zip(items, contents, counts):
        data = json.dumps({"url": f"/{item.url}", "content": content, "word_count": count,
                           "filters": {}, "meta": {"date": item.date, "filters": " ".join(item.filters),
                                                    "place": item.place, "title": item.title},
                           "anchors": []}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        name = _name(taken, hashlib.sha256(data).hexdigest())
        files[f"fragment/{name}.pf_fragment"] = _gzip(data)
        fragments.append((name, count))
    return files, fragments, taken


def _index(items, run, files, written, vocabulary, word_id, page, position, title) -> dict[str, bytes]:
    """`bundle`'s index chunks and meta, the fragments (`written`: the future of `_fragments`) added."""
    import numpy as np

    # The keys of each word, in sorted order.
    of_word = [keys(w) for w in vocabulary]
    filters = sorted({f for item in items for f in item.filters})
    names = sorted({k for ks in of_word for k, _ in ks} | set(filters))
    number = {k: i for i, k in enumerate(names)}
    sizes = np.fromiter((len(ks) for ks in of_word), dtype=np.int64, count=len(of_word))
    flat_key = np.fromiter((number[k] for ks in of_word for k, _ in ks), dtype=np.int32, count=int(sizes.sum()))
    flat_share = np.fromiter((n for ks in of_word for _, n in ks), dtype=np.int32, count=int(sizes.sum()))
    first = np.cumsum(sizes) - sizes
    weight = np.where(title, TITLE, BODY).astype(np.int32)
    # One entry per key of each position (most words have one key, signs none, compound words more).
    count = sizes[word_id]
    if int(sizes.max(initial=0)) <= 1:
        kept = count == 1
        slot = first[word_id[kept]]
        page, position, weight = page[kept], position[kept], weight[kept]
    else:
        entry_of = np.repeat(np.arange(len(word_id), dtype=np.int32), count)
        k = np.arange(int(count.sum()), dtype=np.int32) - np.repeat(np.cumsum(count) - count, count)
        slot = first[word_id][entry_of] + k
        page, position, weight = page[entry_of], position[entry_of], weight[entry_of]
    key, share = flat_key[slot], flat_share[slot]
    part = share > 1
    weight = (weight // share).astype(np.int32)
    # In the order of the index: by key, then page, the word's own positions before its parts'.
    # The entries are in page and position order already, so a stable sort by key alone does.
    by = key * 2 + part
    order = np.argsort(by.astype(np.uint16) if len(names) < 32768 else by, kind="stable")
    key, page, position, weight = key[order], page[order], position[order], weight[order]
    # Groups (a key on a page) and runs (positions of one weight in a group).
    n = len(key)
    group_starts = np.ones(n, dtype=bool)
    group_starts[1:] = (key[1:] != key[:-1]) | (page[1:] != page[:-1])
    run_starts = group_starts.copy()
    run_starts[1:] |= weight[1:] != weight[:-1]
    value = position.copy()
    value[1:] -= position[:-1]
    value[run_starts] = position[run_starts]
    group = np.cumsum(group_starts) - 1
    groups = int(group_starts.sum())
    group_key, group_page = key[group_starts], page[group_starts]
    word_starts = np.ones(groups, dtype=bool)
    word_starts[1:] = group_key[1:] != group_key[:-1]
    page_delta = group_page.copy()
    page_delta[1:] -= group_page[:-1]
    page_delta[word_starts] = group_page[word_starts]
    locations = np.bincount(group, minlength=groups) + np.bincount(group, weights=run_starts, minlength=groups).astype(np.int64)
    # The tokens of every group: [page Δ, [markers and positions], []] in CBOR.
    per_group = 4 + locations
    group_at = np.cumsum(per_group) - per_group
    per_entry = 1 + run_starts
    entry_at = np.cumsum(per_entry) - per_entry
    entry_at = entry_at - entry_at[group_starts][group] + group_at[group] + 3
    total = int(per_group.sum())
    major = np.zeros(total, dtype=np.int8)
    token = np.zeros(total, dtype=np.int32)
    major[group_at], token[group_at] = 4, 3
    token[group_at + 1] = page_delta
    major[group_at + 2], token[group_at + 2] = 4, locations
    major[group_at + per_group - 1] = 4
    marked = entry_at[run_starts]
    major[marked], token[marked] = 1, weight[run_starts]  # -weight-1: CBOR's major type 1 holds the weight
    major[entry_at + run_starts] = 0
    token[entry_at + run_starts] = value
    encoded, starts = _encode(major, token)
    raw = encoded.tobytes()
    group_byte = np.append(starts[group_at], len(raw)).tolist()
    group_sizes = (locations + 1).tolist()
    first_group = np.flatnonzero(word_starts).tolist() + [groups]
    keyed = {int(k): i for i, k in enumerate(group_key[word_starts].tolist())}
    # The filters: words of each record's meta (field "filters"), never in its text.
    meta_of: dict[str, list[tuple[int, int]]] = {}
    for p, item in enumerate(items):
        for at, f in enumerate(item.filters):
            meta_of.setdefault(f, []).append((p, at))
    field = -META_FIELDS.index("filters") - 1
    held: dict[str, tuple[bytes, int, int]] = {}  # key → its pages in CBOR, how many, their size
    for i, name in enumerate(names):
        w = keyed.get(i)
        if name not in meta_of:
            if w is not None:
                g0, g1 = first_group[w], first_group[w + 1]
                held[name] = (raw[group_byte[g0]:group_byte[g1]], g1 - g0, sum(group_sizes[g0:g1]))
            continue
        # A filter word (perhaps in some text too): by hand, few.
        by_page: dict[int, tuple[bytes, list[int]]] = {}
        if w is not None:
            for g in range(first_group[w], first_group[w + 1]):
                by_page[int(group_page[g])] = (raw[group_byte[g]:group_byte[g + 1]], [])
        for p, at in meta_of[name]:
            by_page.setdefault(p, (b"", []))[1].append(at)
        body, last, size = b"", 0, 0
        for p in sorted(by_page):
            text_part, metas = by_page[p]
            locs = _locations_of(text_part)
            meta = [field, metas[0], *(b - a for a, b in zip(metas, metas[1:]))] if metas else []
            body += _head(4, 3) + _int(p - last) + _head(4, len(locs)) + b"".join(map(_int, locs)) + \
                _head(4, len(meta)) + b"".join(map(_int, meta))
            size += len(locs) + len(meta) + 1
            last = p
        held[name] = (body, len(by_page), size)
    # Each word under its form without accents; a form with them is a variant of that word.
    forms: dict[str, list[str]] = {}
    for name in held:
        forms.setdefault(_fold(name), []).append(name)
    entries = []  # (word, its CBOR, its size in positions)
    for word in sorted(forms):
        body, count, size = held.get(word, (b"", 0, 0))
        variants = [name for name in forms[word] if name != word]
        data = _head(4, 3) + _text(word) + _head(4, count) + body + _head(4, len(variants))
        for name in variants:
            v_body, v_count, v_size = held[name]
            data += _head(4, 2) + _text(name) + _head(4, v_count) + v_body
            size += v_size
        entries.append((word, data, size))
    # Chunks of about CHUNK positions, named by the shortest prefixes that tell them apart.
    chunks, current, filled = [], [], 0
    for entry in entries:
        current.append(entry)
        filled += entry[2]
        if filled >= CHUNK:
            chunks.append(current)
            current, filled = [], 0
    if current:
        chunks.append(current)
    bounds = [[c[0][0], c[-1][0]] for c in chunks]
    for a, b in zip(bounds, bounds[1:]):
        a[1], b[0] = _prefixes(a[1], b[0])
    more, fragments, taken = written.result()  # the chunks' names are told apart from the fragments'
    files.update(more)
    index_names, raw_chunks = [], []
    for chunk in chunks:
        raw_chunks.append(_head(4, 1) + _head(4, len(chunk)) + b"".join(e[1] for e in chunk))
        index_names.append(_name(taken, hashlib.sha256(raw_chunks[-1]).hexdigest()))
    with ThreadPoolExecutor(2) as pool:  # zlib lets go of the interpreter: two at once
        files.update(zip((f"index/{name}.pf_index" for name in index_names), pool.map(_gzip, raw_chunks)))
    # The meta: pages, chunks, the date order, the meta fields.
    by_date = sorted(range(len(items)), key=lambda p: items[p].day)
    meta = (_head(4, 6) + _text(run.version)
            + _head(4, len(fragments)) + b"".join(_head(4, 2) + _text(h) + _int(c) for h, c in fragments)
            + _head(4, len(chunks)) + b"".join(_head(4, 3) + _text(a) + _text(b) + _text(h)
                                                for (a, b), h in zip(bounds, index_names))
            + _head(4, 0)
            + _head(4, 1) + _head(4, 2) + _text("date") + _head(4, len(by_date)) + b"".join(map(_int, by_date))
            + _head(4, len(META_FIELDS)) + b"".join(map(_text, META_FIELDS)))
    meta_name = _name(taken, hashlib.sha256(meta).hexdigest(), 11)
    files[f"pagefind.{meta_name}.pf_meta"] = _gzip(meta)
    entry = {**run.entry, "languages": {LANGUAGE: {"hash": meta_name, "wasm": None, "page_count": len(items)}}}
    files["pagefind-entry.json"] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return dict(sorted(files.items()))


def _locations_of(group: bytes) -> list[int]:
    """The list of positions (markers included) of one encoded group [page Δ, [...], []]."""
    if not group:
        return []
    values, at = [], 1
    _, at = _read_int(group, at)  # page Δ
    n, at = _read_int(group, at)
    for _ in range(n):
        v, at = _read_int(group, at)
        values.append(v)
    return values


def _read_int(data: bytes, at: int) -> tuple[int, int]:
    head = data[at]
    major, extra = head >> 5, head & 31
    at += 1
    if extra < 24:
        value = extra
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[extra]
        value = int.from_bytes(data[at:at + size], "big")
        at += size
    return (-1 - value if major == 1 else value), at


def _prefixes(a: str, b: str) -> tuple[str, str]:
    """The starts of two neighbouring chunks' edge words that tell them apart (Pagefind's rule)."""
    common = 0
    for x, y in zip(b, a):
        if x != y:
            break
        common += 1
    return a[:common + 1], b[:common + 1]
