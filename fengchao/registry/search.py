"""Finding residents fast: by name (simplified or traditional), pinyin, initials, phone, ID or address.

Each kind of query becomes an index range scan or an exact hash lookup on the resident table,
inside the viewer's scope. Queries are told apart by their shape:
- 4 digits: last four of the phone or the ID number;
- 11 digits from 1: the whole mobile number (keyed hash);
- 15 or 18 characters of an ID: the whole ID number (keyed hash);
- Latin letters: full pinyin (zhangsan) or initials (zs), by prefix;
- Chinese characters with digits (3栋401, 幸福里2单元): the household address;
- other Chinese text: the name, by prefix, simplified and traditional alike.
"""

import re

from django.db.models import Q

from fengchao.core import privacy

from . import idcard, search_keys
from .choices import ResidentStatus


def resident_filter(query: str) -> Q | None:
    """The condition for one search box entry, or None when it cannot match anything."""
    text = " ".join(str(query).translate(privacy.FULL_WIDTH).split())
    if not text:
        return None
    compact = text.replace(" ", "")
    if re.fullmatch(r"\d{4}", compact):
        return Q(phone_last4=compact) | Q(id_last4=compact)
    phone = privacy.normalise_phone(compact)
    if privacy.is_mobile_phone(phone):
        return Q(phone_hash=privacy.keyed_hash(phone))
    if re.fullmatch(r"\d{15}|\d{17}[\dXx]", compact):
        try:
            number = idcard.parse(compact).number
        except idcard.InvalidIdNumber:
            number = idcard.normalise(compact)
        return Q(id_hash=privacy.keyed_hash(number))
    lowered = compact.lower()
    if search_keys.looks_like_pinyin(lowered):
        low, high = search_keys.prefix_range(lowered)
        return Q(pinyin_key__gte=low, pinyin_key__lt=high) | Q(initials_key__gte=low, initials_key__lt=high)
    if search_keys.has_cjk(compact) and re.search(r"\d", compact):
        return Q(household__address_key__contains=search_keys.name_key(compact))
    key = search_keys.name_key(compact)
    if not key:
        return None
    low, high = search_keys.prefix_range(key)
    return Q(name_key__gte=low, name_key__lt=high)


def search_residents(queryset, query: str, *, include_left: bool = False):
    """Narrow an already scoped queryset of residents to those matching the query."""
    condition = resident_filter(query)
    if condition is None:
        return queryset.none()
    if not include_left:
        queryset = queryset.filter(status=ResidentStatus.LIVING)
    return queryset.filter(condition)


def name_filter(query: str) -> Q | None:
    """Places and organisations: name by prefix, simplified and traditional alike."""
    key = search_keys.name_key(" ".join(str(query).split()))
    if not key:
        return None
    low, high = search_keys.prefix_range(key)
    return Q(name_key__gte=low, name_key__lt=high)
