"""Keys that let a name be found by its characters (simplified or traditional), full pinyin or initials.

张三 and 張三 both get name key 张三, pinyin key zhangsan and initials key zs. The keys are stored on
the row and compared by prefix as byte-ordered ranges, so a search is an index range scan.
"""

import re
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

from fengchao.core.privacy import FULL_WIDTH

_to_simplified = opencc.OpenCC("t2s")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=65536)
def simplified(text: str) -> str:
    return _to_simplified.convert(text)


def name_key(name: str) -> str:
    """The name as searched: simplified characters, no spaces or middle dots, Latin letters lower-cased."""
    cleaned = re.sub(r"[\s·•.・]", "", name.translate(FULL_WIDTH))
    return simplified(cleaned).lower()


@lru_cache(maxsize=65536)
def _syllables(text: str) -> tuple[str, ...]:
    return tuple(s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors=lambda chars: list(chars)))


def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name; each character's syllables cached, so bulk work stays cheap."""
    syllables = []
    for char in name_key(name):
        syllables.extend(_syllables(char))
    syllables = [s for s in syllables if s.isascii() and s.isalnum()]
    return "".join(syllables), "".join(s[0] for s in syllables)


def prefix_range(prefix: str) -> tuple[str, str]:
    """[prefix, upper) covering exactly the strings that start with prefix, in byte order."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def looks_like_pinyin(query: str) -> bool:
    return bool(re.fullmatch(r"[a-z]+", query))


def has_cjk(query: str) -> bool:
    return bool(CJK.search(query))
