"""A lean multi-row INSERT … RETURNING for large imports.

Django's bulk_create prepares every value through the full field machinery, which costs more than
the database's own work once a table has thirty columns and a hundred thousand rows. Here each
field gets one converter, chosen once (the raw value for text, numbers, booleans and keys; the
backend's adapter for dates and times), and rows go in batches as large as the backend allows.
The returned ids come back in the order of the VALUES rows, as Django's bulk_create also assumes.
"""

from operator import attrgetter

from django.db import connection, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.SmallIntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.BooleanField,
    models.FloatField,
    models.ForeignKey,
)
MAX_ROWS_PER_STATEMENT = 1000


def _converter(field):
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        # Most datetimes of a batch are the same `now`: convert each distinct value once.
        seen = {}

        def datetime_value(value):
            converted = seen.get(value)
            if converted is None:
                converted = seen[value] = ops.adapt_datetimefield_value(value)
            return converted

        return datetime_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, PLAIN) and not isinstance(field, models.JSONField | models.DecimalField):
        return None
    return lambda value, field=field: field.get_db_prep_save(value, connection)


def insert(objs: list, *, model=None) -> None:
    """Insert unsaved model instances and set their pks (auto_now and auto_now_add fields are filled)."""
    if not objs:
        return
    model = model or type(objs[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                if getattr(obj, field.attname) is None or getattr(field, "auto_now", False):
                    setattr(obj, field.attname, now)
    for field in fields:
        if field.is_relation:  # a related object saved after it was assigned: take its pk now
            for obj in objs:
                if getattr(obj, field.attname) is None and field.is_cached(obj):
                    related = field.get_cached_value(obj)
                    if related is not None:
                        setattr(obj, field.attname, related.pk)
    getter = attrgetter(*(f.attname for f in fields))
    single = len(fields) == 1  # attrgetter of one name gives the value, not a tuple
    converted = [(i, c) for i, c in enumerate(_converter(f) for f in fields) if c is not None]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, limit // len(fields)))
    pk = quote(meta.pk.column)
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            batch = objs[start : start + per_statement]
            params = []
            for obj in batch:
                row = getter(obj)
                if single:
                    row = (row,)
                if converted:
                    row = list(row)
                    for position, convert in converted:
                        if row[position] is not None:
                            row[position] = convert(row[position])
                params.extend(row)
            values = ", ".join([placeholder] * len(batch))
            # Names come from the model, quoted by the backend; every value is a query parameter.
            sql = f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {pk}"  # noqa: S608
            cursor.execute(sql, params)
            for obj, (new_pk,) in zip(batch, cursor.fetchall(), strict=True):
                obj.pk = new_pk
                obj._state.adding = False
                obj._state.db = connection.alias


def update(objs: list, fields: list[str], *, model=None) -> None:
    """UPDATE each object's `fields` (attribute names or field names) by pk, as one executemany."""
    if not objs:
        return
    model = model or type(objs[0])
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in targets)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    converters = [(f.attname, _converter(f)) for f in targets]
    rows = []
    for obj in objs:
        row = []
        for attname, convert in converters:
            value = getattr(obj, attname)
            row.append(value if convert is None or value is None else convert(value))
        row.append(obj.pk)
        rows.append(row)
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


_DEFAULTS: dict = {}


def new(model, **values):
    """An unsaved instance made from the fields' defaults without the keyword __init__ (a tenth of the cost).

    Only for models whose defaults are constants and which nothing watches at init (post_init).
    """
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        fields = model._meta.concrete_fields
        if any(f.has_default() and callable(f.default) for f in fields):
            raise TypeError(f"{model.__name__} has a callable default; build it with keywords")
        defaults = _DEFAULTS[model] = {f.attname: f.get_default() for f in fields}
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        obj = model(**defaults)
    else:
        obj = model.__new__(model)
        obj._state = ModelState()
        obj.__dict__.update(defaults)
    for name, value in values.items():
        setattr(obj, name, value)
    return obj
