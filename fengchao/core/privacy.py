"""Personal data at rest: encryption, keyed hashes for lookup, and masking for display.

Keys come from the environment (FENGCHAO_DATA_KEY, FENGCHAO_HASH_KEY). Several comma-separated
data keys may be given: the first encrypts, all decrypt, which is how keys are rotated.
Without keys (development and tests) they are derived from SECRET_KEY.
"""

import base64
import hashlib
import hmac
import re
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

FULL_WIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"fengchao:{purpose}:{settings.SECRET_KEY}".encode()).digest()


def derived_data_key() -> str:
    """The data key development uses without FENGCHAO_DATA_KEY; list it last to rotate such data onto a real key."""
    return base64.urlsafe_b64encode(_derived("data")).decode()


@cache
def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.FENGCHAO_DATA_KEY.split(",") if k.strip()]
    if not keys:
        keys = [derived_data_key()]
    return MultiFernet([Fernet(k) for k in keys])


@cache
def _hash_key() -> bytes:
    return settings.FENGCHAO_HASH_KEY.encode() if settings.FENGCHAO_HASH_KEY else _derived("hash")


@receiver(setting_changed)
def _keys_changed(setting, **kwargs):
    if setting in ("FENGCHAO_DATA_KEY", "FENGCHAO_HASH_KEY", "SECRET_KEY"):
        reset_keys()


def reset_keys() -> None:
    """Forget the keys read from settings (after a rotation, or when tests change them)."""
    _fernet.cache_clear()
    _hash_key.cache_clear()


def rotate(token: str) -> str:
    """The same value encrypted under the current first data key; raises InvalidToken if no key opens it."""
    return _fernet().rotate(token.encode()).decode() if token else ""


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode() if token else ""


def keyed_hash(value: str) -> str:
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def normalise_phone(raw: str) -> str:
    """Digits only, full-width folded, the +86/0086 country prefix dropped."""
    value = re.sub(r"[\s\-()]", "", str(raw).translate(FULL_WIDTH))
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    return value


def is_mobile_phone(value: str) -> bool:
    return bool(re.fullmatch(r"1[3-9]\d{9}", value))


def mask_phone(phone: str) -> str:
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * len(phone)
