"""Re-encrypting personal data under the current keys (key rotation).

To rotate the data key, put the new key first in FENGCHAO_DATA_KEY and keep the old one after it
(`new,old`), restart, run `manage.py rotate_keys`, then drop the old key. To change the hash key,
set the new FENGCHAO_HASH_KEY and run the command at once: lookups by phone or ID number miss
until it has finished, because every keyed hash is recomputed from the decrypted value.
"""

from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.db import transaction

from fengchao.accounts.models import User
from fengchao.audit.services import record_system
from fengchao.core import privacy

from .models import Organisation, OrganisationMember, Place, Resident


@dataclass(frozen=True)
class Secret:
    cipher: str
    hash: str | None = None  # the keyed-hash column of the same value, if any


ENCRYPTED = {
    User: [Secret("phone_cipher", "phone_hash")],
    Resident: [Secret("id_cipher", "id_hash"), Secret("phone_cipher", "phone_hash"), Secret("contact_phone_cipher")],
    Place: [Secret("phone_cipher", "phone_hash")],
    Organisation: [Secret("phone_cipher", "phone_hash")],
    OrganisationMember: [Secret("phone_cipher", "phone_hash")],
}
# A user without a phone stores NULL, not '', so the unique index allows many of them.
EMPTY_HASH = {User: None}


def _rotate_batch(model, secrets, rows) -> int:
    changed = []
    for row in rows:
        for secret in secrets:
            token = getattr(row, secret.cipher)
            if not token:
                continue
            setattr(row, secret.cipher, privacy.rotate(token))
            if secret.hash:
                plain = privacy.decrypt(getattr(row, secret.cipher))
                setattr(row, secret.hash, privacy.keyed_hash(plain) if plain else EMPTY_HASH.get(model, ""))
        changed.append(row)
    fields = [s.cipher for s in secrets] + [s.hash for s in secrets if s.hash]
    model.objects.bulk_update(changed, fields, batch_size=500)
    return len(changed)


def rotate_all(*, batch_size: int = 2000, actor=None, progress=None) -> dict[str, int]:
    """Re-encrypt and re-hash every secret, one batch per transaction (safe to re-run after a stop)."""
    privacy.reset_keys()
    counts = {}
    for model, secrets in ENCRYPTED.items():
        fields = ["pk", *(s.cipher for s in secrets), *(s.hash for s in secrets if s.hash)]
        last_pk, done = 0, 0
        while True:
            rows = list(model.objects.filter(pk__gt=last_pk).order_by("pk").only(*fields)[:batch_size])
            if not rows:
                break
            with transaction.atomic():
                done += _rotate_batch(model, secrets, rows)
            last_pk = rows[-1].pk
            if progress:
                progress(model._meta.label, done)
        counts[model._meta.label] = done
    with transaction.atomic():
        record_system("privacy.keys_rotated", actor=actor, counts=counts)
    return counts


def unreadable(model=None) -> dict[str, int]:
    """How many stored secrets the current keys cannot open (should be none before dropping an old key)."""
    privacy.reset_keys()
    result = {}
    for each, secrets in ENCRYPTED.items():
        if model is not None and each is not model:
            continue
        bad = 0
        for values in each.objects.values_list(*(s.cipher for s in secrets)).iterator(chunk_size=2000):
            for token in values:
                if token:
                    try:
                        privacy.decrypt(token)
                    except InvalidToken:
                        bad += 1
        result[each._meta.label] = bad
    return result
