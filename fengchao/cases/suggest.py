"""Suggesting a category from what a reporter wrote: keyword hits over the categories a case may use.

Runs on every intake and on each keystroke of the report form, so the keyword table is kept in the
process. It is rebuilt when the categories' stamp (how many, last change) differs from the one it
was built at; the stamp is read at most once a minute (settings.CATEGORY_SUGGEST_CHECK_S), and
edits made through `catalogue` in this process drop the table on commit.

Ranking: the most distinct keywords found in the text, then the most characters matched (a long,
specific keyword outweighs a short one), then the code. A category's own name counts as a keyword.
"""

import copy
import threading
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max

from .models import Category

DEFAULT_CHECK_SECONDS = 60
_lock = threading.Lock()
_cache: dict = {"table": None, "checked_at": 0.0}


@dataclass(frozen=True)
class KeywordTable:
    stamp: tuple
    categories: dict  # pk -> Category (never handed out: callers get copies)
    keywords: tuple  # (normalised keyword, (pk, ...)), longest first
    codes: dict  # code -> pk


def normalise(text: str) -> str:
    """Full-width letters and digits as half-width, Latin letters in lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def suggest_categories(text: str, limit: int = 3) -> list[Category]:
    """Up to `limit` categories whose keywords occur in `text`, best first (none if nothing matches)."""
    text = normalise(text).strip()
    if not text or limit <= 0:
        return []
    table = _table()
    scores: dict[int, tuple[int, int]] = {}
    for keyword, pks in table.keywords:
        if keyword in text:
            for pk in pks:
                hits, matched = scores.get(pk, (0, 0))
                scores[pk] = (hits + 1, matched + len(keyword))
    best = sorted(scores, key=lambda pk: (-scores[pk][0], -scores[pk][1], table.categories[pk].code))
    return [copy.copy(table.categories[pk]) for pk in best[:limit]]


def usable_category(code: str) -> Category | None:
    """The usable (active, leaf) category with this code from the same in-process table, or None.

    Intake reads categories here instead of asking the database each time; a category taken out of use
    on another server may still be accepted until the next stamp check (at most a minute).
    """
    table = _table()
    pk = table.codes.get(code)
    return copy.copy(table.categories[pk]) if pk is not None else None


def clear_cache() -> None:
    with _lock:
        _cache["table"] = None
        _cache["checked_at"] = 0.0


def _table() -> KeywordTable:
    now = time.monotonic()
    table = _cache["table"]
    interval = getattr(settings, "CATEGORY_SUGGEST_CHECK_S", DEFAULT_CHECK_SECONDS)
    if table is not None and now - _cache["checked_at"] < interval:
        return table
    stamp = _stamp()
    if table is not None and table.stamp == stamp:
        _cache["checked_at"] = now
        return table
    with _lock:
        table = _build(stamp)
        _cache.update(table=table, checked_at=now)
    return table


def _stamp() -> tuple:
    figures = Category.objects.aggregate(count=Count("pk"), changed=Max("updated_at"), version=Max("version"))
    return figures["count"], figures["changed"], figures["version"]


def _build(stamp: tuple) -> KeywordTable:
    from .catalogue import usable_categories

    categories = {c.pk: c for c in usable_categories()}
    owners: dict[str, list[int]] = {}
    for category in categories.values():
        words = {normalise(w) for w in category.keywords.split()} | {normalise(category.name)}
        for word in words:
            if word:
                owners.setdefault(word, []).append(category.pk)
    keywords = tuple(sorted(((word, tuple(pks)) for word, pks in owners.items()), key=lambda item: -len(item[0])))
    codes = {category.code: pk for pk, category in categories.items()}
    return KeywordTable(stamp=stamp, categories=categories, keywords=keywords, codes=codes)
