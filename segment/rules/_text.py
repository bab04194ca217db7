"""Term items from free text (complaints, call-centre notes): ``text:信号``, ``text:billing``.

Each text becomes a set of terms; a customer holds ``text:TERM`` when one of
their texts has the term. The items then go through the same family, tests,
corrections and redundancy rules as plan items (:mod:`segment.rules._rules`).

Tokenising, per text (``lang``):

``zh``
    Chinese word segmentation by rjieba (jieba's dictionary and algorithm,
    in Rust; the same cuts as jieba 0.42 on 20,000 test texts and about 40
    times faster). Single Chinese characters (的, 了, 我) and the built-in stop
    words (:data:`STOP_ZH`) are dropped; Latin words inside a Chinese text
    (``APP``) are read as English.
``en``
    Lower-cased words of letters (digits and punctuation dropped), the
    built-in stop words (:data:`STOP_EN`) dropped, then a light stemmer
    (:func:`stem`): ``charges``, ``charged`` and ``charging`` are one term,
    shown by its most frequent spelling (``charged``).
``auto`` (default)
    ``zh`` for a text holding a Chinese character, ``en`` otherwise.

Every distinct text is tokenised once (extracts repeat texts a lot).

The terms file (``--terms``), one entry per line: ``word`` adds a stop word;
``word=theme`` reads the word as the theme, so that synonyms make one item
(``信号=network``, ``掉线=network``, ``signal=network``; English words
match after stemming: ``drop=network`` also takes ``dropped``). Chinese
words named in the file are added to the segmenter's dictionary, so they are
never cut. Blank lines and lines starting with ``#`` are skipped.

Examples
--------
>>> terms = Terms.parse(["# themes", "信号=network", "掉线=network", "please"])
>>> text_terms(["家里信号很差，经常掉线", "Please fix the dropped calls!"], lang="auto", terms=terms)
[['network', '家里', '很差'], ['calls', 'dropped', 'fix']]
>>> stem("charging"), stem("charges"), stem("dropped"), stem("speed")
('charg', 'charg', 'drop', 'speed')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import polars as pl

from segment.columns import parse_dates
from segment.errors import ColumnNotFoundError, ColumnTypeError, OptionError
from segment.rules._bits import masks_by_code

LANGS = ("auto", "zh", "en")
#: Terms held by fewer customers are dropped (before the rule minimum applies too).
DEFAULT_MIN_TERM_COUNT = 10
PREFIX = "text:"

STOP_EN = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each even ever every few for from further get got had hadn't has hasn't have haven't having he her
here hers herself him himself his how i i'm i've if in into is isn't it it's its itself just let me more
most much my myself never no nor not now of off on once only or other ought our ours ourselves out over
own please same she should shouldn't so some still such than that the their theirs them themselves then
there these they this those through to too under until up us very was wasn't we were weren't what when
where which while who whom why will with won't would wouldn't yet you your yours yourself yourselves
again always already keep keeps kept really since today yesterday week month months time times one two
""".split())
STOP_ZH = frozenset("""
我们 你们 他们 她们 它们 自己 什么 怎么 怎么办 为什么 这个 那个 这些 那些 这样 那样 这么 那么 一直 已经 还是
就是 但是 可是 因为 所以 如果 虽然 而且 然后 并且 或者 可以 不能 不会 没有 不是 现在 时候 今天 昨天 明天
最近 一下 一些 一点 非常 特别 真的 还有 一次 每次 每个 几次 好几次 好多 很多 多次 总是 经常 老是 希望 请问
请 麻烦 谢谢 你好 您好 问题 一个 两个 有点 有些 这里 那里 哪里 而且 之后 之前 以后 以前 然而 其他 其实 到底
我要 想要 不了 一下子 还要 需要 应该 能够
""".split())

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_ALL_CJK = re.compile(f"^[{_CJK}]+$")
_LATIN = re.compile(r"^[a-z]+$")
_VOWELS = "aeiouy"


def stem(word: str) -> str:
    """A light English stemmer: plurals, ``-ed``, ``-ing``, a final ``-e``.

    Deterministic and small on purpose: complaint themes need ``charge``,
    ``charges``, ``charged`` and ``charging`` to meet, not a linguist's
    stem. Rules (after Porter's step 1): ``-sses`` -> ``-ss``, ``-ies`` /
    ``-ied`` -> ``-y``; ``-ed`` and ``-ing`` are cut when a vowel followed
    by a consonant is left (``need`` and ``speed`` stay), then a doubled
    final consonant other than l, s, z is undoubled (``dropp`` -> ``drop``);
    ``-es`` after s, x, z, ch, sh and a plural ``-s`` (not ``-ss``, ``-us``,
    ``-is``) are cut; last, a final ``-e`` after three letters.

    >>> [stem(w) for w in ("bills", "billed", "billing", "calls", "boxes", "services", "companies", "this")]
    ['bill', 'bill', 'bill', 'call', 'box', 'servic', 'company', 'this']
    """
    w = word
    if len(w) <= 3:
        return w
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ing") and _measure(w[:-3]):
        w = _undouble(w[:-3])
    elif w.endswith("ed") and _measure(w[:-2]):
        w = _undouble(w[:-2])
    elif w.endswith("es") and (w[-3] in "sxz" or w[-4:-2] in ("ch", "sh")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def _measure(stem_: str) -> bool:
    """Porter's m > 0: some vowel is followed by a consonant."""
    return any(a in _VOWELS and b not in _VOWELS for a, b in zip(stem_, stem_[1:], strict=False))


def _undouble(w: str) -> str:
    if len(w) >= 2 and w[-1] == w[-2] and w[-1] not in _VOWELS + "lsz":
        return w[:-1]
    return w


@dataclass(frozen=True)
class Terms:
    """Extra stop words and synonyms (``word=theme``), as read from a terms file."""

    stop: frozenset[str] = frozenset()
    themes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, lines: Sequence[str], source: str = "--terms") -> Terms:
        """Read ``word`` (a stop word) and ``word=theme`` lines; see the module docstring."""
        stop: set[str] = set()
        themes: dict[str, str] = {}
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            word, sep, theme = (part.strip() for part in line.partition("="))
            if not word or (sep and not theme) or " " in word:
                raise OptionError(f"{source} line {number}: {raw.strip()!r} is not 'word' (a stop word) or "
                                  "'word=theme' (one word, no spaces)")
            key = _key(word)
            if sep:
                if key in themes and themes[key] != theme:
                    raise OptionError(f"{source} line {number}: {word!r} is already read as {themes[key]!r}")
                themes[key] = theme
            else:
                stop.add(key)
        return cls(frozenset(stop), themes)

    @property
    def words(self) -> tuple[str, ...]:
        """Chinese words of the file: the segmenter must keep them whole."""
        return tuple(sorted(w for w in (*self.stop, *self.themes) if _HAS_CJK.search(w) and len(w) > 1))


def _key(word: str) -> str:
    """How a word of the terms file is matched: Chinese as written, English lower-cased and stemmed."""
    word = word.strip().lower()
    return stem(word) if _LATIN.match(word) else word


@lru_cache(maxsize=4)
def _segmenter(words: tuple[str, ...]) -> Callable[[str], list[str]]:
    """A Chinese word cutter knowing *words* too.

    Importing rjieba loads its dictionary (about 0.5 s, once per process);
    extra words need a segmenter of their own (another 0.4 s), so that they
    never leak into later calls. rjieba writes nothing to stdout or stderr
    (jieba logs "Building prefix dict..." on stderr; this one does not).
    """
    import rjieba

    if not words:
        return rjieba.cut
    seg = rjieba.Jieba()
    for w in words:
        seg.add_word(w, None, None)
    return seg.cut


def text_terms(texts: Sequence[str], *, lang: str = "auto", terms: Terms | None = None) -> list[list[str]]:
    """Terms of each text, sorted and distinct (themes replace their words); for tests and doctests.

    English terms are shown by the spelling they have here (see :func:`term_pairs`).
    """
    series = pl.Series("text", list(texts), dtype=pl.String)
    pairs = term_pairs(series, lang=lang, terms=terms or Terms())
    out: list[list[str]] = [[] for _ in texts]
    for row, term in pairs.select("row", "term").sort("row", "term").iter_rows():
        out[row].append(term)
    return out


def term_pairs(texts: pl.Series, *, lang: str, terms: Terms) -> pl.DataFrame:
    """``(row, term)`` for every term of every text (row: position in *texts*), distinct pairs.

    English stems are shown by their most frequent spelling over all the
    texts (ties: alphabetical), themes by the theme's name.
    """
    pairs, labels = term_codes(texts, lang=lang, terms=terms)
    names = pl.Series("term", labels, dtype=pl.String)
    return pairs.select("row", term=names.gather(pairs["code"]))


def term_codes(texts: pl.Series, *, lang: str, terms: Terms) -> tuple[pl.DataFrame, list[str]]:
    """``(row, code)`` pairs (distinct) and the terms the codes stand for (sorted).

    Integers from the words on: a million complaints give about ten
    million (text, word) pairs, and text keys would multiply the memory.
    """
    if lang not in LANGS:
        raise OptionError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    frame = (pl.DataFrame({"text": texts.cast(pl.String)}).with_row_index("row")
             .filter(pl.col("text").str.strip_chars().str.len_chars() > 0))
    # Each distinct text once, with the rows that hold it.
    distinct = frame.group_by("text", maintain_order=True).agg("row").with_row_index("t")
    zh = (distinct["text"].str.contains(_HAS_CJK.pattern) if lang == "auto"
          else pl.Series([lang == "zh"] * distinct.height, dtype=pl.Boolean))
    words = pl.concat([_zh_words(distinct.filter(zh).select("t", "text"), terms),
                       _en_words(distinct.filter(~zh).select("t", "text"))])
    words = words.join(_vocabulary(words["word"].unique(), terms), on="word", how="inner")
    uses = distinct.select("t", n=pl.col("row").list.len())
    # Counts per spelling choose how a stem is shown: over texts as written, not distinct texts.
    shown = (words.join(uses, on="t").group_by("key", "word").agg(pl.col("n").sum())
             .sort(["key", "n", "word"], descending=[False, True, False])
             .group_by("key", maintain_order=True).agg(pl.col("word").first().alias("spelling")))
    keyed = _themed(shown, terms)
    labels = keyed["term"].unique().sort().to_list()
    keyed = keyed.with_columns(code=pl.col("term").cast(pl.Enum(labels)).to_physical().cast(pl.UInt32))
    per_text = words.select("t", "key").join(keyed.select("key", "code"), on="key").select("t", "code").unique()
    pairs = distinct.select("t", "row").explode("row").join(per_text, on="t").select("row", "code")
    return pairs, labels


def _zh_words(texts: pl.DataFrame, terms: Terms) -> pl.DataFrame:
    """``(t, word)`` of Chinese texts, by the segmenter, lower-cased."""
    if texts.height == 0:
        return pl.DataFrame(schema={"t": pl.UInt32, "word": pl.String})
    cut = _segmenter(terms.words)
    # One string per text, split by polars: far cheaper than a list-of-lists column from Python.
    joined = ["\x1f".join(cut(x)) for x in texts["text"].to_list()]
    return (texts.select("t", word=pl.Series(joined, dtype=pl.String).str.to_lowercase().str.split("\x1f"))
            .explode("word").filter(pl.col("word").str.len_chars() > 0))


def _en_words(texts: pl.DataFrame) -> pl.DataFrame:
    """``(t, word)`` of English texts: lower-cased runs of letters (apostrophes kept inside a word)."""
    return (texts.select("t", word=pl.col("text").str.to_lowercase().str.replace_all("\u2019", "'")
                         .str.extract_all(r"[a-z]+(?:'[a-z]+)?"))
            .explode("word").drop_nulls("word"))


def _vocabulary(words: pl.Series, terms: Terms) -> pl.DataFrame:
    """``(word, key)`` for each distinct word that is a term: its stem (English) or itself (Chinese)."""
    kept_words: list[str] = []
    keys: list[str] = []
    themed = terms.themes
    for word in words.to_list():
        if _ALL_CJK.match(word):
            if word in terms.stop or (word in STOP_ZH and word not in themed):
                continue
            if len(word) < 2 and word not in themed:
                continue
            key = word
        else:
            plain = word.replace("'", "")
            if not _LATIN.match(plain) or len(plain) < 2 or word in STOP_EN or plain in STOP_EN:
                continue
            key = stem(plain)
            if key in terms.stop:
                continue
        kept_words.append(word)
        keys.append(key)
    return pl.DataFrame({"word": kept_words, "key": keys}, schema={"word": pl.String, "key": pl.String})


def _themed(shown: pl.DataFrame, terms: Terms) -> pl.DataFrame:
    """``(key, term)``: the theme of a key named in the terms file, else its spelling."""
    if not terms.themes:
        return shown.rename({"spelling": "term"})
    themes = pl.DataFrame({"key": list(terms.themes), "theme": list(terms.themes.values())},
                          schema={"key": pl.String, "theme": pl.String})
    return shown.join(themes, on="key", how="left").select(
        "key", term=pl.coalesce("theme", "spelling"))


def customer_terms(pairs: pl.DataFrame, labels: list[str], customer_row: np.ndarray, n: int,
                   min_count: int) -> list[tuple[str, np.ndarray]]:
    """``(text:TERM, mask over customers)`` for terms held by at least *min_count* customers.

    *pairs* are ``(row, code)`` over text rows (:func:`term_codes`);
    *customer_row* gives each text row's customer (row of the snapshot, -1
    for none). A customer holds a term when any of their texts has it.
    Terms come in text order.
    """
    customer = customer_row[pairs["row"].to_numpy()]
    code = pairs["code"].to_numpy().astype(np.int64)
    known = customer >= 0
    held = pl.DataFrame({"c": customer[known], "k": code[known]}).unique()
    customers, codes = held["c"].to_numpy(), held["k"].to_numpy()
    counts = np.bincount(codes, minlength=len(labels))
    kept = np.flatnonzero(counts >= min_count)
    if kept.size == 0:
        return []
    masks = masks_by_code(customers, codes, n, kept.tolist())
    return [(PREFIX + labels[k], mask) for k, mask in zip(kept.tolist(), masks, strict=True)]


def text_items(ids: pl.Series, texts: pl.DataFrame, *, id: str, text: str, lang: str, terms: Terms,
               min_count: int, long: bool = False, date: str | None = None,
               since: dt.date | None = None) -> tuple[list[tuple[str, np.ndarray]], dict[str, int]]:
    """Term items over the customers *ids* (a snapshot's id column, in its row order).

    *texts* is the snapshot itself (one text per customer) or, with
    *long*, a table of complaints (*id*, *text*, and *date* when *since* is given): a
    customer's terms are then the union over their complaints dated on or
    after *since*. Complaints of customers not in the snapshot are left out.
    Returns the items and counts for the summary.
    """
    for role, col in (("id", id), ("text", text), *((("date", date),) if since is not None else ())):
        if col not in texts.columns:
            raise ColumnNotFoundError(col, texts.columns, role=role)
    bad = texts.schema[text]
    if bad not in (pl.String, pl.Categorical) and not isinstance(bad, pl.Enum) and bad != pl.Null:
        raise ColumnTypeError(f"column {text!r} is {bad}; --text needs a column of text")
    stats = {"texts": texts.height}
    if since is not None:
        dated = parse_dates(texts.lazy(), date).collect()  # type: ignore[arg-type]
        texts = dated.filter(pl.col(date) >= since)
        stats["texts_in_window"] = texts.height
    if not long:
        row = np.arange(ids.len())
    else:
        where = pl.DataFrame({"_id": ids.cast(pl.String)}).with_row_index("_row")
        row = (texts.select(_id=pl.col(id).cast(pl.String)).join(where, on="_id", how="left")
               ["_row"].fill_null(-1).cast(pl.Int64).to_numpy())
        stats["texts_unknown_customer"] = int((row < 0).sum())
    pairs, labels = term_codes(texts[text], lang=lang, terms=terms)
    with_text = np.zeros(ids.len(), dtype=bool)
    held = row[pairs["row"].to_numpy()]
    with_text[held[held >= 0]] = True
    stats["customers_with_text"] = int(with_text.sum())
    stats["terms"] = len(labels)
    items = customer_terms(pairs, labels, row, ids.len(), min_count)
    stats["terms_kept"] = len(items)
    return items, stats
