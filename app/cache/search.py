"""Offline full-text search over every system's ticket subjects and message bodies.

How text is indexed (SQLite FTS5, table ``search_fts``; one row per subject and per message):

- ``body``: the text after NFKC, where every run of CJK characters (Han, kana, hangul) becomes
  its overlapping bigrams (``退款申请`` -> ``退款 款申 申请``, as Lucene's CJK analyzer does) and a
  one-character run stays a unigram; Latin text is left to FTS5's ``unicode61`` tokenizer
  (case-folded, diacritics removed).
- ``tail``: the last character of each longer CJK run, so a one-character query ``款`` is a
  prefix query ``款*`` that finds every occurrence (a bigram starting with it, or a run's end).
- ``facets``: opaque tokens for the assignee (name, e-mail, external id), so that filter is an
  index intersection instead of a join.

The FTS rowid (``search_docs.doc``) leads with the status code (3 bits), then the text's time
in milliseconds counted down from the year 2248 (newer texts have smaller keys; a text dated
before 1970 counts as 1970), then 17 bits with the system, priority and kind codes plus a few
bits to keep keys unique. A status filter and a date range are one rowid range per allowed
status, which FTS5 seeks to: counting ``refund`` in open tickets reads only the open tickets'
matches. "Newest first" is FTS5's ascending rowid scan of each status's range (a seek and a
short scan each; the ranges are merged by time). The other filters are bit tests on each
matching rowid (one ``rowid & mask = codes`` test for all the fields that allow a single
value); intersecting with a token in every other text would not stay fast at a million
messages.

Counting: a query of one plain word or one two-character Chinese word without filters is
counted from the FTS5 vocabulary (``fts5vocab``: that term's document count, no per-row VM
work); every other query counts its matching rowids. Only a query token that could be an
assignee facet token (``f`` and hex digits) keeps the ``{body tail}`` column filter, which
costs about a third of a count. :class:`SearchSession` remembers recent counts (next page,
another order) until another connection commits.

Queries: words are ANDed; ``"a phrase"`` matches adjacent words; ``refu*`` is a prefix; a CJK
word of n characters is the phrase of its bigrams. Snippets come back as plain text plus
``highlights`` (``(start, end)`` ranges into the snippet); :func:`mark` inserts the
``\\x02``…``\\x03`` markers a view can swap for its own styling after escaping the text.

The index is kept in the writer's transaction by ``repo.upsert_tickets`` (:func:`index_tickets`);
SQL triggers only remove the texts of hard-deleted tickets and messages.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import sqlite3
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection

from app.cache.types import from_micros, to_micros
from app.domain import CacheError

if TYPE_CHECKING:
    from app.cache.engine import Cache

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "Order",
    "SearchCancelled",
    "SearchFilters",
    "SearchHit",
    "SearchResult",
    "SearchSession",
    "highlight",
    "index_text",
    "index_tickets",
    "mark",
    "rebuild",
    "search",
    "system_codes",
]

HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
# A doc key (the FTS rowid), high bits first: the status code, the text's time in ms counted
# down from _TIME_MAX (newest first is FTS5's ascending rowid scan, which seeks to a range's
# start), then the system, priority and kind codes and 6 bits to keep keys unique. A status
# filter and a date range are one rowid range per allowed status; the other fields are bit
# tests on each matching rowid.
_UNIQUE_BITS = 6
_FIELDS = {"kind": (6, 3), "priority": (8, 7), "system": (11, 63)}
_TIME_SHIFT = 17
_TIME_MAX = 2**43 - 1  # ms after 1970 (the year 2248)
_LATEST_MS = _TIME_MAX - (1 << 20)  # texts are clamped to [1970, here], leaving room to move on
_LOW = (1 << _TIME_SHIFT) - 1  # the bits below the time
_STATUS_SHIFT = 60
_STATUS_CODES = (0, 1, 2, 3, 4, 5, 7)  # 7: a status outside the vocabulary
_BY_TIME = (1 << _STATUS_SHIFT) - 1  # a key without its status: newest first, ascending
_CODES: dict[str, dict[str | None, int]] = {
    "kind": {"subject": 0, "reply": 1, "note": 2, "event": 3},
    "priority": {None: 0, "low": 1, "normal": 2, "high": 3, "urgent": 4},
    "status": {"new": 0, "open": 1, "pending": 2, "on_hold": 3, "solved": 4, "closed": 5},
}
MAX_SYSTEMS = 63
_ANY = 2**63 - 1  # every code allowed
SNIPPET_CHARS = 160
_CHUNK = 5000  # ids per json_each parameter

_CJK = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]+"
)
_CJK_SPLIT = re.compile(f"({_CJK.pattern})")
# characters whose NFKC form differs in a way the tokenizer would see: full-width and
# half-width forms, compatibility ideographs, circled and squared letters, ligatures, super-
# and subscripts (full-width punctuation is a separator either way, so it is left alone)
_WIDE = re.compile(
    "[\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2150-\u218f\u2460-\u24ff"
    "\u2f00-\u2fdf\u3200-\u33ff\uf900-\ufaff\ufb00-\ufb4f\uff10-\uff19\uff21-\uff3a"
    "\uff41-\uff5a\uff65-\uffdc\U0001d400-\U0001d7ff\U0002f800-\U0002fa1f]"
)
# a character of a Latin (non-CJK) word, as unicode61 sees it
_LATIN = "[^\\W_" + _CJK.pattern[1:-2] + "]"
_WORD = re.compile(r"[^\W_]+")
_QUERY_TERM = re.compile(r'"([^"]*)("?)(\*?)|(\S+)')


# ---------------------------------------------------------------- text normalization


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


class _Doubled(dict[int, str]):
    """``str.translate`` table: each character ``c`` becomes ``c c`` (the inside of a run)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        self[code] = value = f"{char} {char}"
        return value


_DOUBLED = _Doubled()


def _bigrams(run: str) -> str:
    """``abcd`` -> ``ab bc cd`` (a one-character run stays as it is)."""
    # every character doubled is ``a ab bc cd d``: the bigrams between the ends' extra halves
    return run.translate(_DOUBLED)[2:-2] if len(run) > 1 else run


def index_text(text: str) -> tuple[str, str]:
    """The ``(body, tail)`` columns FTS5 indexes for ``text`` (see the module docstring)."""
    if text.isascii():  # no CJK, nothing NFKC changes
        return text, ""
    if _WIDE.search(text):
        text = unicodedata.normalize("NFKC", text)
    parts = _CJK_SPLIT.split(text)
    if len(parts) == 1:
        return text, ""
    runs = parts[1::2]
    parts[1::2] = map(_bigrams, runs)
    if len(runs) == 1:  # one run: its tail, without the dict below
        return " ".join(parts), runs[0][-1] if len(runs[0]) > 1 else ""
    # the tails in order, without repeats
    return " ".join(parts), " ".join({run[-1]: None for run in runs if len(run) > 1})


@functools.lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    """Case-folded, diacritics removed (what ``unicode61 remove_diacritics 2`` compares)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # folded; one CJK character or one Latin word
    cjk: bool


@dataclass(frozen=True, slots=True)
class _Term:
    """One query term (a word, a CJK run, a mixed word or a quoted phrase) as folded tokens.

    ``breaks`` holds the indexes of CJK tokens that do not touch the CJK token before them
    (a phrase with a space between two Chinese words).
    """

    tokens: tuple[_Token, ...]
    prefix: bool
    breaks: frozenset[int]

    def _runs(self) -> Iterator[tuple[bool, str]]:
        run = ""
        for index, token in enumerate(self.tokens):
            if token.cjk and run and index not in self.breaks:
                run += token.text
                continue
            if run:
                yield True, run
                run = ""
            if token.cjk:
                run = token.text
            else:
                yield False, token.text
        if run:
            yield True, run

    def fts(self) -> str:
        """The FTS5 expression of this term (only extracted tokens, never user syntax)."""
        runs = list(self._runs())
        if len(runs) == 1 and runs[0][0] and len(runs[0][1]) == 1:
            return f'"{runs[0][1]}" *'  # one CJK character: a bigram starting with it, or a tail
        words = [_bigrams(text) if cjk and len(text) > 1 else text for cjk, text in runs]
        last_cjk, last_text = runs[-1]
        star = self.prefix or (last_cjk and len(last_text) == 1)
        return '"' + " ".join(words) + '"' + (" *" if star else "")

    def pattern(self) -> re.Pattern[str]:
        """A regex finding this term in :func:`_fold_chars` text, mirroring the index."""
        runs = list(self._runs())
        parts: list[str] = []
        for number, (cjk, text) in enumerate(runs):
            last = number == len(runs) - 1
            if cjk:
                parts.append(re.escape(text))
            else:
                tail = f"{_LATIN}*" if last and self.prefix else ""
                # the word first, then "no Latin character before it": a literal start lets
                # the regex engine skip ahead to each occurrence
                before = f"(?<!{_LATIN}.{{{len(text)}}})"
                parts.append(f"{re.escape(text)}{before}{tail}(?!{_LATIN})")
        return re.compile(r"[\W_]*".join(parts))


def _tokens(text: str) -> Iterator[tuple[_Token, int, int]]:
    """Tokens of ``text`` with their ``[start, end)`` in ``text`` (CJK: one per character)."""
    for match in _WORD.finditer(text):
        start = match.start()
        word = match.group()
        cursor = 0
        for cjk in _CJK.finditer(word):
            if cjk.start() > cursor:
                yield (
                    _Token(_fold(word[cursor : cjk.start()]), False),
                    start + cursor,
                    start + cjk.start(),
                )
            for offset, char in enumerate(cjk.group()):
                at = start + cjk.start() + offset
                yield _Token(char, True), at, at + 1
            cursor = cjk.end()
        if cursor < len(word):
            yield _Token(_fold(word[cursor:]), False), start + cursor, start + len(word)


def _parse(query: str, prefix_last: bool) -> list[_Term]:
    """The terms of a query: words ANDed, ``"phrases"``, ``prefix*``."""
    terms: list[_Term] = []
    for match in _QUERY_TERM.finditer(_nfkc(query)):
        phrase, _closed, star, word = match.groups()
        if word is None:
            text, prefix = phrase, bool(star)
        else:
            text, prefix = word.rstrip("*"), word.endswith("*")
        located = list(_tokens(text))
        if not located:
            continue
        breaks = frozenset(
            i
            for i in range(1, len(located))
            if located[i][0].cjk and located[i - 1][0].cjk and located[i - 1][2] != located[i][1]
        )
        terms.append(_Term(tuple(t for t, _, _ in located), prefix, breaks))
    if prefix_last and terms and not query.endswith((" ", '"')):
        last = terms[-1]
        terms[-1] = _Term(last.tokens, True, last.breaks)
    return terms


# a Latin query token that could be (a prefix of) an assignee facet token (``_facet``)
_FACET_LIKE = re.compile(r"f[0-9a-f]{0,12}")
# a term whose document count the vocabulary holds: one plain word or one CJK bigram
_VOCAB_TERM = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]{2}")


def _match_expression(query: str, prefix_last: bool) -> tuple[str, list[_Term]]:
    """The FTS5 expression of ``query`` and its terms.

    Only the ``body`` and ``tail`` columns hold text; the column filter that keeps a query
    away from the assignee facets is left out (about a third of the cost of counting a common
    word) unless a token could match a facet token.
    """
    terms = _parse(query, prefix_last)
    if not terms:
        return "", []
    expression = " AND ".join(t.fts() for t in terms)
    facet_like = any(
        not token.cjk and _FACET_LIKE.fullmatch(token.text) for t in terms for token in t.tokens
    )
    return ("{body tail} : (" + expression + ")" if facet_like else expression), terms


def _vocabulary_term(terms: Sequence[_Term]) -> str | None:
    """The one indexed term whose document count is the query's count, if there is one:
    a single word or two-character Chinese word, not a prefix (one row per text holds it)."""
    if len(terms) != 1 or terms[0].prefix or terms[0].breaks:
        return None
    text = "".join(token.text for token in terms[0].tokens)
    if len(terms[0].tokens) > 2 or not _VOCAB_TERM.fullmatch(text):
        return None
    if len(terms[0].tokens) == 2 and not all(token.cjk for token in terms[0].tokens):
        return None
    if _FACET_LIKE.fullmatch(text):
        return None
    return text


# ---------------------------------------------------------------- filters and facets


@functools.lru_cache(maxsize=8192)
def _facet(kind: str, value: str) -> str:
    digest = hashlib.blake2b(f"{kind}\x00{value}".encode(), digest_size=6).hexdigest()
    return f"f{digest}"


@functools.lru_cache(maxsize=8192)
def _assignee_facets(name: str | None, email: str | None, external_id: str | None) -> str:
    values = [v.casefold() for v in (name, email, external_id) if v]
    return " ".join([_facet("assignee", v) for v in values] or [_facet("assignee", "")])


class Order(StrEnum):
    """Result order: newest text first (the default, fast) or best bm25 match first."""

    NEWEST = "newest"
    RELEVANCE = "relevance"


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrow a search. Values of one field are ORed, fields are ANDed; empty means any.

    ``assignees`` match an assignee's name, e-mail (case-insensitive) or external id;
    ``unassigned`` adds tickets without an assignee. ``kinds``: ``subject``, ``reply``,
    ``note``, ``event``. ``since`` is inclusive and ``until`` exclusive (millisecond precision)
    on the text's time: the ticket's creation for a subject, the message's for a message.
    """

    systems: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    unassigned: bool = False
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def expression(self) -> str:
        """The FTS5 assignee clause (``""`` without an assignee filter)."""
        tokens = [_facet("assignee", v.casefold()) for v in self.assignees]
        tokens += [_facet("assignee", "")] if self.unassigned else []
        return f"facets : ({' OR '.join(tokens)})" if tokens else ""

    def rowid_ranges(self) -> tuple[tuple[int, int], ...] | None:
        """The doc keys ``[low, high]`` of the allowed statuses within the date range, one range
        per status (``None``: every key, neither filter is set; empty: no key)."""
        if not self.statuses and self.since is None and self.until is None:
            return None
        # the time counts down: ``until`` (exclusive) bounds the low end, ``since`` the high end
        low = 0 if self.until is None else _TIME_MAX - min(_millis(self.until) - 1, _TIME_MAX)
        high = _TIME_MAX if self.since is None else _TIME_MAX - max(_millis(self.since), 0)
        if low > high:
            return ()
        statuses = {_CODES["status"].get(v, 7) for v in self.statuses} or _STATUS_CODES
        return _status_ranges(sorted(statuses), low, high)

    def masks(self, system_codes: dict[str, int]) -> tuple[int, int, int] | None:
        """Allowed-code bit masks for kind, priority and system (``None``: no match)."""
        masks = []
        for field_name, values in (("kind", self.kinds), ("priority", self.priorities)):
            codes = _CODES[field_name]
            masks.append(_mask({codes.get(v, 7) for v in values}) if values else _ANY)
        if self.systems:
            known = {system_codes[v] for v in self.systems if v in system_codes}
            if not known:
                return None
            masks.append(_mask(known))
        else:
            masks.append(_ANY)
        return masks[0], masks[1], masks[2]


def _status_ranges(codes: Iterable[int], low: int, high: int) -> tuple[tuple[int, int], ...]:
    """The doc keys ``[low, high]`` of each status code between two (counted down) times."""
    return tuple(
        (
            (code << _STATUS_SHIFT) | (low << _TIME_SHIFT),
            (code << _STATUS_SHIFT) | (high << _TIME_SHIFT) | _LOW,
        )
        for code in codes
    )


_EVERY_STATUS = _status_ranges(_STATUS_CODES, 0, _TIME_MAX)


def _mask(codes: Iterable[int]) -> int:
    return sum(1 << code for code in set(codes))


def _millis(moment: datetime) -> int:
    return to_micros(moment) // 1000


# ---------------------------------------------------------------- keeping the index in sync


# A text to index, as a plain tuple: cheap to build, and once it holds only ints and strings the
# garbage collector stops tracking it (a page of them never piles up in the oldest generation,
# whose full collections walk the whole heap). Fields: ticket id, message id (``None``: the
# subject), base key (the doc key with its unique bits still 0), text, assignee facet tokens,
# ``_sig``.
_Doc = tuple[int, int | None, int, str, str, int]
_TICKET: Final = 0
_MESSAGE: Final = 1
_BASE: Final = 2
_TEXT: Final = 3
_FACETS: Final = 4
_SIGNATURE: Final = 5


def _sig(at_micros: int, bits: int, facets: str, text: str) -> int:
    """A hash of what a doc indexes: an unchanged text keeps its doc."""
    payload = f"{at_micros}\x1f{bits}\x1f{facets}\x1f{text}".encode()
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), signed=True)


_KIND_BITS = {kind: code << 6 for kind, code in _CODES["kind"].items() if kind}


def _bits(system: int, status: str, priority: str | None, kind: str) -> int:
    return (
        (_CODES["status"].get(status, 7) << _STATUS_SHIFT)
        | (system << 11)
        | (_CODES["priority"].get(priority, 7) << 8)
        | (_CODES["kind"].get(kind, 3) << 6)
    )


def system_codes(db: sqlite3.Connection, systems: Iterable[str], *, add: bool) -> dict[str, int]:
    """The small code of each system in doc keys; ``add`` assigns codes to new systems."""
    wanted = sorted(set(systems))
    known = dict(
        db.execute(
            "SELECT system_id, code FROM search_systems"
            " WHERE system_id IN (SELECT value FROM json_each(?))",
            (json.dumps(wanted),),
        ).fetchall()
    )
    missing = [s for s in wanted if s not in known]
    if add and missing:
        (used,) = db.execute("SELECT count(*) FROM search_systems").fetchone()
        if used + len(missing) > MAX_SYSTEMS:
            raise CacheError(f"the search index holds at most {MAX_SYSTEMS} systems")
        for offset, system in enumerate(missing):
            known[system] = used + offset
        db.executemany(
            "INSERT INTO search_systems (code, system_id) VALUES (?, ?)",
            [(known[s], s) for s in missing],
        )
    return known


def _driver(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``conn`` (same transaction; no per-row SQLAlchemy cost)."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise CacheError("the search index needs the sqlite3 driver")
    return driver


def _json_chunks(values: Sequence[Any]) -> Iterator[str]:
    for start in range(0, len(values), _CHUNK):
        yield json.dumps(list(values[start : start + _CHUNK]))


# each statement's last column is a text's time as the doc key's time field (?2: _TIME_MAX,
# ?3: _LATEST_MS, ?4: _TIME_SHIFT): ms clamped to [1970, _LATEST_MS], counted down (SQLite's
# integer division truncates, Python's floors: they differ only below 0, which is clamped)
_WANTED_TICKETS = (
    "SELECT t.id, t.system_id, t.status, t.priority, t.assignee_name, t.assignee_email,"
    " t.assignee_external_id, t.subject, t.created_at,"
    " (?2 - min(max(t.created_at / 1000, 0), ?3)) << ?4"
    " FROM json_each(?1) j JOIN tickets t ON t.id = j.value WHERE NOT t.deleted"
)
_WANTED_MESSAGES = (
    "SELECT m.ticket_id, m.id, m.kind, m.body_text, m.created_at,"
    " (?2 - min(max(m.created_at / 1000, 0), ?3)) << ?4"
    " FROM json_each(?1) j JOIN messages m ON m.ticket_id = j.value"
)
_TIME_PARAMS = (_TIME_MAX, _LATEST_MS, _TIME_SHIFT)


def _wanted_docs(db: sqlite3.Connection, ticket_ids: Sequence[int]) -> dict[tuple[int, int], _Doc]:
    wanted: dict[tuple[int, int], _Doc] = {}
    facets: dict[int, tuple[int, str]] = {}
    for chunk in _json_chunks(ticket_ids):
        rows = db.execute(_WANTED_TICKETS, (chunk, *_TIME_PARAMS)).fetchall()
        if not rows:
            continue
        codes = system_codes(db, {row[1] for row in rows}, add=True)
        for tid, system, status, priority, a_name, a_email, a_ext, subject, at, key_time in rows:
            bits = _bits(codes[system], status, priority, "subject")
            assignee = _assignee_facets(a_name, a_email, a_ext)
            facets[tid] = (bits & ~(3 << 6), assignee)
            sig = _sig(at, bits, assignee, subject)
            wanted[(tid, 0)] = (tid, None, key_time | bits, subject, assignee, sig)
        for tid, mid, kind, body, at, key_time in db.execute(
            _WANTED_MESSAGES, (chunk, *_TIME_PARAMS)
        ):
            shared = facets.get(tid)
            if shared is not None:
                bits = shared[0] | _KIND_BITS.get(kind, 3 << 6)
                sig = _sig(at, bits, shared[1], body)
                wanted[(tid, mid)] = (tid, mid, key_time | bits, body, shared[1], sig)
    return wanted


def _allocate(db: sqlite3.Connection, docs: Sequence[_Doc]) -> list[int]:
    """A free doc key per doc (see ``_UNIQUE_BITS``). When the 64 keys of a millisecond and
    facet combination are taken (date-only timestamps), the next millisecond's are used."""
    keys = [0] * len(docs)
    # each doc's base key; moving a text a millisecond on lowers it by one time unit (the
    # time counts down, and never below 0: at most 2**20 rounds, ``_LATEST_MS`` leaves room)
    bases = [doc[_BASE] for doc in docs]
    taken: set[int] = set()
    full: set[int] = set()
    pending: Sequence[int] = range(len(docs))
    rounds = 0
    while pending:
        for chunk in _json_chunks(sorted({bases[i] for i in pending} - full)):
            taken.update(
                row[0]
                for row in db.execute(
                    "SELECT d.doc FROM json_each(?) j JOIN search_docs d"
                    " ON d.doc BETWEEN j.value AND j.value + 63",
                    (chunk,),
                )
            )
        retry: list[int] = []
        for i in pending:
            base = bases[i]
            seed = docs[i][_TICKET] * 7 + (docs[i][_MESSAGE] or 0) * 13
            key = base | (seed & 63)
            if key not in taken:  # the usual case: the doc's own spare key is free
                taken.add(key)
                keys[i] = key
                continue
            if base not in full:
                for spare in range(1, 1 << _UNIQUE_BITS):
                    key = base | ((seed + spare) & 63)
                    if key not in taken:
                        taken.add(key)
                        keys[i] = key
                        break
                else:
                    full.add(base)
            if base in full:
                bases[i] = base - (1 << _TIME_SHIFT)
                retry.append(i)
        pending = retry
        rounds += 1
        if rounds > 1 << 20:
            raise CacheError("the search index found no free key (too many texts at one time)")
    return keys


def index_tickets(conn: Connection, ticket_ids: Iterable[int]) -> None:
    """Bring the index of ``ticket_ids`` in line with the cache, in the caller's transaction.

    Unchanged texts are left alone; changed ones are replaced; texts of deleted tickets or
    vanished messages are removed. Idempotent.
    """
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        return
    db = _driver(conn)
    wanted = _wanted_docs(db, ids)
    stale: list[tuple[int]] = []
    kept: set[tuple[int, int]] = set()
    for chunk in _json_chunks(ids):
        for doc, tid, mid, sig in db.execute(
            "SELECT d.doc, d.ticket_id, d.message_id, d.sig FROM json_each(?) j"
            " JOIN search_docs d ON d.ticket_id = j.value",
            (chunk,),
        ):
            key = (tid, mid or 0)
            current = wanted.get(key)
            if current is not None and current[_SIGNATURE] == sig and key not in kept:
                kept.add(key)
            else:
                stale.append((doc,))
    if stale:
        db.executemany("DELETE FROM search_fts WHERE rowid = ?", stale)
        db.executemany("DELETE FROM search_docs WHERE doc = ?", stale)
    fresh = [doc for key, doc in wanted.items() if key not in kept]
    if not fresh:
        return
    # ascending rowids: FTS5 flushes its pending terms whenever a rowid goes backwards (the
    # keys are unique, so the pairs sort by key alone)
    keyed = sorted(zip(_allocate(db, fresh), fresh, strict=True))
    db.executemany(
        "INSERT INTO search_docs (doc, ticket_id, message_id, sig) VALUES (?, ?, ?, ?)",
        [(k, d[_TICKET], d[_MESSAGE], d[_SIGNATURE]) for k, d in keyed],
    )
    db.executemany(
        "INSERT INTO search_fts (rowid, body, tail, facets) VALUES (?, ?, ?, ?)",
        [(k, *index_text(d[_TEXT]), d[_FACETS]) for k, d in keyed],
    )


def rebuild(conn: Connection, batch: int = 2000) -> int:
    """(Re)index every cached ticket; returns how many tickets were visited."""
    db = _driver(conn)
    last = 0
    visited = 0
    while True:
        ids = [
            row[0]
            for row in db.execute(
                "SELECT id FROM tickets WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
        ]
        if not ids:
            return visited
        index_tickets(conn, ids)
        visited += len(ids)
        last = ids[-1]


# ---------------------------------------------------------------- highlighting


class _FoldTable(dict[int, str]):
    """Per-character folding for ``str.translate``: lower case, no diacritics, NFKD width.

    One character stays one character, so offsets into the folded text are offsets into the
    original (a character that folds to several, like ``ß``, is only lower-cased).
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _fold(char)
        value = folded if len(folded) == 1 else char.lower()[:1] or char
        self[code] = value
        return value


_FOLD_TABLE = _FoldTable()


def _fold_chars(text: str) -> str:
    # ASCII: lower case is all there is to it (and much faster than a translation table)
    return text.lower() if text.isascii() else text.translate(_FOLD_TABLE)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _spans(text: str, terms: Sequence[_Term]) -> list[tuple[int, int]]:
    folded = _fold_chars(text)
    return _merge(
        m.span() for term in terms for m in _pattern(term).finditer(folded) if m.end() > m.start()
    )


@functools.lru_cache(maxsize=256)
def _pattern(term: _Term) -> re.Pattern[str]:
    return term.pattern()


def highlight(text: str, query: str, *, prefix_last: bool = False) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of ``text`` that ``query`` matches (e.g. a subject)."""
    return _spans(text, _parse(query, prefix_last))


def mark(text: str, ranges: Sequence[tuple[int, int]]) -> str:
    """``text`` with each range wrapped in ``HIGHLIGHT_START`` … ``HIGHLIGHT_END``.

    A view escapes the text first (HTML escaping leaves the two control characters alone),
    then replaces the markers with its own start and end tags.
    """
    out: list[str] = []
    position = 0
    for start, end in ranges:
        out += [text[position:start], HIGHLIGHT_START, text[start:end], HIGHLIGHT_END]
        position = end
    out.append(text[position:])
    return "".join(out)


_ONE_LINE = str.maketrans("\r\n\t\v\f", "     ")


def _snippet(text: str, spans: list[tuple[int, int]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """At most ``SNIPPET_CHARS`` of ``text`` around its first match, on one line."""
    if len(text) <= SNIPPET_CHARS:
        return text.translate(_ONE_LINE), tuple(spans)  # same length: the ranges stay valid
    first = spans[0][0] if spans else 0
    start = max(0, min(first - SNIPPET_CHARS // 4, len(text) - SNIPPET_CHARS))
    end = start + SNIPPET_CHARS
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    inside = tuple(
        (max(s, start) + shift, min(e, end) + shift) for s, e in spans if s < end and e > start
    )
    return prefix + text[start:end].translate(_ONE_LINE) + suffix, inside


# ---------------------------------------------------------------- querying


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching text. ``message_id`` is ``None`` (and ``kind`` ``subject``) for a subject."""

    ticket_id: int
    message_id: int | None
    kind: str
    system_id: str
    external_id: str
    subject: str
    status: str
    priority: str | None
    assignee_name: str | None
    author_name: str | None
    at: datetime
    snippet: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) ranges into ``snippet``
    score: float | None = None  # bm25 (lower is better) when ordered by relevance

    @property
    def marked(self) -> str:
        """The snippet with ``\\x02``…``\\x03`` around each match."""
        return mark(self.snippet, self.highlights)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """How many texts match in all, and the requested page of them."""

    total: int
    hits: tuple[SearchHit, ...] = field(default_factory=tuple)


# one bit test per field allowing several codes: its mask parameter has bit n set when code n
# is allowed; the fields allowing one code each share one test, ``rowid & mask = codes``
_TEST = " AND (?{} >> ((rowid >> {}) & {})) & 1"
_EXACT = " AND (rowid & ?{}) = ?{}"
_SCORE = "bm25(search_fts, 1.0, 1.0, 0.0)"
_VOCABULARY = "search_vocab"


@functools.lru_cache(maxsize=256)
def _statements(tested: tuple[str, ...], exact: bool, arms: int) -> tuple[str, str, str]:
    """The count, newest-page and relevance-page statements for these filter tests over
    ``arms`` doc key ranges (0: every key, which the newest page never uses).

    Parameters: ``?1`` the MATCH expression, then the tests' masks (and the exact test's mask
    and codes), then each range's low and high key, then (several ranges) how many rows each
    range gives the newest page, then the limit and the offset.
    """
    where = " FROM search_fts WHERE search_fts MATCH ?1"
    number = 2
    for name in tested:
        shift, width = _FIELDS[name]
        where += _TEST.format(number, shift, width)
        number += 1
    if exact:
        where += _EXACT.format(number, number + 1)
        number += 2
    ranged = [
        f"{where} AND rowid BETWEEN ?{number + 2 * arm} AND ?{number + 2 * arm + 1}"
        for arm in range(arms)
    ]
    number += 2 * arms
    if arms <= 1:
        where = ranged[0] if ranged else where
        page = f" LIMIT ?{number} OFFSET ?{number + 1}"
        return (
            "SELECT count(*)" + where,
            "SELECT rowid, NULL" + where + " ORDER BY rowid" + page,
            f"SELECT rowid, {_SCORE}{where} ORDER BY 2" + page,
        )
    # several statuses: each range is read newest first (a seek and a short ascending scan),
    # then the ranges are merged by time
    page = f" LIMIT ?{number + 1} OFFSET ?{number + 2}"
    # (constants and placeholders only, never input)
    newest = " UNION ALL ".join(
        f"SELECT * FROM (SELECT rowid AS doc{arm} ORDER BY rowid LIMIT ?{number})"  # noqa: S608
        for arm in ranged
    )
    ranked = " UNION ALL ".join(f"SELECT rowid AS doc, {_SCORE} AS score{arm}" for arm in ranged)
    return (
        "SELECT " + " + ".join(f"(SELECT count(*){arm})" for arm in ranged),
        f"SELECT doc, NULL FROM ({newest}) ORDER BY doc & {_BY_TIME}, doc{page}",  # noqa: S608
        f"SELECT doc, score FROM ({ranked}) ORDER BY score{page}",  # noqa: S608
    )


def _tests(masks: Sequence[int]) -> tuple[tuple[str, ...], list[int], tuple[int, int] | None]:
    """Split the fields' masks into bit tests (several codes) and one exact test (one code)."""
    tested: list[str] = []
    params: list[int] = []
    field_mask = codes = 0
    for (name, (shift, width)), mask in zip(_FIELDS.items(), masks, strict=True):
        if mask == _ANY:
            continue
        code = mask.bit_length() - 1
        if mask == 1 << code and code <= width:  # exactly one allowed code
            field_mask |= width << shift
            codes |= code << shift
        else:
            tested.append(name)
            params.append(mask)
    return tuple(tested), params, ((field_mask, codes) if field_mask else None)


def _vocabulary_count(db: sqlite3.Connection, term: str) -> int:
    """How many texts hold ``term`` (its FTS5 vocabulary row: no scan through the VM)."""
    if not db.execute("SELECT 1 FROM sqlite_temp_master WHERE name = ?", (_VOCABULARY,)).fetchone():
        db.execute(
            f"CREATE VIRTUAL TABLE temp.{_VOCABULARY} USING fts5vocab(main, search_fts, col)"
        )
    row = db.execute(
        f"SELECT doc FROM temp.{_VOCABULARY} WHERE term = ? AND col = 'body'",  # noqa: S608
        (term,),
    ).fetchone()
    return int(row[0]) if row else 0


_DETAILS = (
    "SELECT d.doc, d.ticket_id, d.message_id, t.system_id, t.external_id, t.subject, t.status,"
    " t.priority, t.assignee_name, m.kind, m.author_name, m.body_text,"
    " coalesce(m.created_at, t.created_at)"
    " FROM json_each(?) j JOIN search_docs d ON d.doc = j.value"
    " JOIN tickets t ON t.id = d.ticket_id LEFT JOIN messages m ON m.id = d.message_id"
)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A parsed query: how to count it and read its pages, and its terms (for highlighting)."""

    expression: str  # the FTS5 MATCH expression
    ranges: tuple[tuple[int, int], ...] | None  # doc key ranges (``None``: every key)
    tested: tuple[str, ...]  # fields with a bit test each
    tests: tuple[int, ...]  # their masks, then the exact test's mask and codes
    exact: bool
    vocabulary: str | None  # the one term whose vocabulary row is the count
    terms: tuple[_Term, ...]

    def count_statement(self) -> tuple[str, tuple[Any, ...]]:
        """The statement counting the matches, and its parameters."""
        ranges = self.ranges or ()
        sql = _statements(self.tested, self.exact, len(ranges))[0]
        return sql, (self.expression, *self.tests, *(key for pair in ranges for key in pair))

    def page_statement(self, order: Order, limit: int, offset: int) -> tuple[str, tuple[Any, ...]]:
        """The statement reading one page of ``(doc, score)``, and its parameters."""
        ranges = self.ranges
        if ranges is None and order is Order.NEWEST:
            ranges = _EVERY_STATUS  # newest first: each status's keys in time order
        ranges = ranges or ()
        sql = _statements(self.tested, self.exact, len(ranges))[1 if order is Order.NEWEST else 2]
        bounds = (key for pair in ranges for key in pair)
        each = (offset + limit,) if len(ranges) > 1 else ()
        return sql, (self.expression, *self.tests, *bounds, *each, limit, offset)


def _plan(
    db: sqlite3.Connection, query: str, filters: SearchFilters | None, prefix_last: bool
) -> _Plan | None:
    """How to run ``query`` (``None``: nothing can match)."""
    filters = filters or SearchFilters()
    text_expression, terms = _match_expression(query, prefix_last)
    if not text_expression:
        return None
    facet_expression = filters.expression()
    expression = text_expression + (f" AND {facet_expression}" if facet_expression else "")
    masks = filters.masks(system_codes(db, filters.systems, add=False))
    ranges = filters.rowid_ranges()
    if masks is None or ranges == ():
        return None
    tested, params, exact = _tests(masks)
    tests = (*params, *(exact or ()))
    unfiltered = not facet_expression and not tests and ranges is None
    vocabulary = _vocabulary_term(terms) if unfiltered else None
    return _Plan(expression, ranges, tested, tests, exact is not None, vocabulary, tuple(terms))


def _count(db: sqlite3.Connection, plan: _Plan) -> int:
    """How many texts match: the term's vocabulary row, or a count over the index."""
    if plan.vocabulary is not None:
        return _vocabulary_count(db, plan.vocabulary)
    statement, params = plan.count_statement()
    return int(db.execute(statement, params).fetchone()[0])


def _page(
    db: sqlite3.Connection, plan: _Plan, order: Order, limit: int, offset: int
) -> tuple[SearchHit, ...]:
    if limit <= 0:
        return ()
    page = db.execute(*plan.page_statement(order, limit, offset)).fetchall()
    if not page:
        return ()
    details = {row[0]: row for row in db.execute(_DETAILS, (json.dumps([row[0] for row in page]),))}
    return tuple(_hit(details[doc], plan.terms, score) for doc, score in page if doc in details)


def search(
    conn: Connection,
    query: str,
    filters: SearchFilters | None = None,
    order: Order = Order.NEWEST,
    limit: int = 50,
    offset: int = 0,
    *,
    prefix_last: bool = False,
) -> SearchResult:
    """Count every text matching ``query`` and ``filters``, and return one page of them.

    ``prefix_last`` treats the last word as a prefix while the agent is still typing it.
    An empty query (nothing searchable in it) matches nothing.
    """
    db = _driver(conn)
    plan = _plan(db, query, filters, prefix_last)
    if plan is None:
        return SearchResult(0)
    total = _count(db, plan)
    if not total or offset >= total:
        return SearchResult(total)
    return SearchResult(total, _page(db, plan, order, limit, offset))


def _hit(row: Any, terms: Sequence[_Term], score: float | None) -> SearchHit:
    _doc, tid, mid, system, external, subject, status, priority, assignee = row[:9]
    kind, author, body, at = row[9:]
    text = (subject if mid is None else body) or ""
    snippet, ranges = _snippet(text, _spans(text, terms))
    return SearchHit(
        ticket_id=tid,
        message_id=mid,
        kind="subject" if mid is None else kind,
        system_id=system,
        external_id=external,
        subject=subject,
        status=status,
        priority=priority,
        assignee_name=assignee,
        author_name=None if mid is None else author,
        at=from_micros(at),
        snippet=snippet,
        highlights=ranges,
        score=score,
    )


# ---------------------------------------------------------------- search-as-you-type


class SearchCancelled(Exception):
    """The query was superseded by a newer one (or cancelled) before it finished."""


class _Flag:
    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


class SearchSession:
    """Search-as-you-type on its own read connection and worker thread.

    Each :meth:`submit` cancels the query before it: a progress handler aborts the running
    SQLite statement within a few thousand VM steps, and a queued one never starts. The
    session remembers the counts of its recent queries (the next page, another order, the same
    text again) until another connection commits (``PRAGMA data_version``).
    """

    PROGRESS_STEPS = 10_000  # about 0.1 ms of SQLite work between cancellation checks
    CACHE_KIB = 32_768
    MMAP_BYTES = 256 * 1024 * 1024
    COUNTS_KEPT = 64

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-search")
        self._lock = threading.Lock()
        self._current = _Flag()
        self._conn: Connection | None = None
        self._counts: OrderedDict[tuple[Any, ...], int] = OrderedDict()  # worker thread only
        self._counts_version: int | None = None

    def submit(
        self,
        query: str,
        filters: SearchFilters | None = None,
        order: Order = Order.NEWEST,
        limit: int = 50,
        offset: int = 0,
        *,
        prefix_last: bool = True,
    ) -> Future[SearchResult]:
        """Start a search, cancelling the previous one; its future raises ``SearchCancelled``
        when a later call supersedes it."""
        token = _Flag()
        with self._lock:
            self._current.cancelled = True
            self._current = token
        return self._executor.submit(
            self._run, token, query, filters, order, limit, offset, prefix_last
        )

    async def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        order: Order = Order.NEWEST,
        limit: int = 50,
        offset: int = 0,
        *,
        prefix_last: bool = True,
    ) -> SearchResult:
        """Awaitable :meth:`submit`; cancelling the awaiting task cancels the query too."""
        future = self.submit(query, filters, order, limit, offset, prefix_last=prefix_last)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Abort whatever query is running or queued."""
        with self._lock:
            self._current.cancelled = True

    def close(self) -> None:
        """Cancel, wait for the worker and release the read connection."""
        self.cancel()
        self._executor.submit(self._release).result()
        self._executor.shutdown(wait=True)

    def forget_counts(self) -> None:
        """Drop the remembered counts (the next query of each text counts again)."""
        self._counts_version = None  # the worker clears them before its next count

    def _count(self, db: sqlite3.Connection, plan: _Plan) -> int:
        (version,) = db.execute("PRAGMA data_version").fetchone()
        if version != self._counts_version:
            self._counts.clear()
            self._counts_version = version
        key = (plan.expression, plan.ranges, plan.tested, plan.exact, plan.tests)
        total = self._counts.get(key)
        if total is None:
            total = self._counts[key] = _count(db, plan)
            while len(self._counts) > self.COUNTS_KEPT:
                self._counts.popitem(last=False)
        else:
            self._counts.move_to_end(key)
        return total

    def _progress(self, flag: _Flag) -> int:
        """SQLite's progress callback: non-zero aborts the running statement."""
        return 1 if flag.cancelled else 0

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(
        self,
        token: _Flag,
        query: str,
        filters: SearchFilters | None,
        order: Order,
        limit: int,
        offset: int,
        prefix_last: bool,
    ) -> SearchResult:
        if token.cancelled:
            raise SearchCancelled(query)
        if self._conn is None:
            self._conn = self._cache.engine.connect()
            tune = _driver(self._conn)
            tune.execute(f"PRAGMA cache_size = -{self.CACHE_KIB}")  # hot pages stay across keys
            tune.execute(f"PRAGMA mmap_size = {self.MMAP_BYTES}")  # reads without copies
        conn = self._conn
        db = _driver(conn)
        db.set_progress_handler(lambda: self._progress(token), self.PROGRESS_STEPS)
        try:
            plan = _plan(db, query, filters, prefix_last)
            if plan is None:
                return SearchResult(0)
            total = self._count(db, plan)
            if not total or offset >= total:
                return SearchResult(total)
            return SearchResult(total, _page(db, plan, order, limit, offset))
        except Exception as exc:
            if token.cancelled:
                raise SearchCancelled(query) from exc
            raise
        finally:
            db.set_progress_handler(None, 0)
            conn.rollback()
