"""Where notifications go besides the in-app inbox: SMS, e-mail, a government messaging gateway.

A deployment names a class in FENGCHAO_NOTICE_BACKEND; it gets `send(to_phone, text)` calls. The
default writes to the log, which is what a development machine or a test wants.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("fengchao.notices")


class ConsoleBackend:
    sent: list = []  # kept for inspection in a running process (tests read it)

    def send(self, to_phone: str, text: str) -> None:
        masked = f"{to_phone[:3]}****{to_phone[-4:]}" if len(to_phone) >= 7 else "-"
        logger.info("notice to %s: %s", masked, text)
        ConsoleBackend.sent.append((to_phone, text))


class NullBackend:
    def send(self, to_phone: str, text: str) -> None:
        pass


def backend():
    return import_string(getattr(settings, "FENGCHAO_NOTICE_BACKEND", "fengchao.notices.backends.ConsoleBackend"))()
