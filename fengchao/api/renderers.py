from decimal import Decimal

import orjson
from django.utils.functional import Promise
from ninja.renderers import BaseRenderer
from pydantic import BaseModel


def _fallback(value):
    if isinstance(value, Promise):  # lazy translations
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return str(value)
    return str(value)  # e.g. an exception inside a validation error's context


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return orjson.dumps(data, default=_fallback, option=orjson.OPT_NON_STR_KEYS)
