"""Every change to areas goes through these functions: one transaction, one audit event each."""

import uuid
from dataclasses import dataclass, field

import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from fengchao.accounts.roles import Role
from fengchao.audit.services import record

from . import codes
from .geometry import area_outside, measure, parse_boundary, to_geojson
from .levels import LEVEL_OF_KIND, LINEAGE_FIELD_OF_LEVEL, PARENT_KINDS, AreaKind, DedicatedKind
from .models import Area, DutyItem, SpatialIndexVersion, subtree_q
from .signals import subtree_moved

AREAS_LAYER = "areas"


@dataclass
class AreaChange:
    area: Area
    warnings: list[str] = field(default_factory=list)


def bump_spatial_version(layer: str = AREAS_LAYER) -> None:
    updated = SpatialIndexVersion.objects.filter(layer=layer).update(version=F("version") + 1)
    if not updated:
        SpatialIndexVersion.objects.get_or_create(layer=layer, defaults={"version": 1})


def check_parent(kind: str, parent: Area | None) -> None:
    allowed = PARENT_KINDS[AreaKind(kind)]
    if not allowed:
        if parent is not None:
            raise ValidationError(_("A district has no parent area."))
        return
    if parent is None:
        raise ValidationError(_("A %(kind)s needs a parent area.") % {"kind": AreaKind(kind).label})
    if parent.kind not in allowed:
        raise ValidationError(
            _("A %(kind)s cannot sit under a %(parent_kind)s; its parent must be a %(allowed)s.")
            % {
                "kind": AreaKind(kind).label,
                "parent_kind": AreaKind(parent.kind).label,
                "allowed": _(" or ").join(str(AreaKind(k).label) for k in sorted(allowed)),
            }
        )


def _check_code_free(code: str, exclude_pk=None) -> None:
    clash = Area.objects.filter(code=code).exclude(pk=exclude_pk).first()
    if clash:
        raise ValidationError(
            _("The area code %(code)s is already used by “%(name)s”.") % {"code": code, "name": clash.name}
        )


def _apply_boundary(area: Area, geojson) -> shapely.Geometry | None:
    if geojson is None:
        area.boundary = None
        area.min_lon = area.min_lat = area.max_lon = area.max_lat = area.centre_lon = area.centre_lat = None
        return None
    geometry = parse_boundary(geojson)
    size = measure(geometry)
    area.boundary = to_geojson(geometry)
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = size.min_lon, size.min_lat, size.max_lon, size.max_lat
    area.centre_lon, area.centre_lat = size.centre_lon, size.centre_lat
    return geometry


def boundary_warnings(area: Area, parent: Area | None) -> list[str]:
    """Where this area's boundary strays outside its parent's, or its children outside it.

    Reads `area.children.all()`, so a caller checking many areas prefetches their children once.
    """
    warnings = []
    tolerance = settings.BOUNDARY_TOLERANCE_M
    if area.boundary is None:
        return warnings
    geometry = parse_boundary(area.boundary)
    if parent is not None and parent.boundary is not None:
        outside = area_outside(geometry, parse_boundary(parent.boundary), tolerance)
        if outside > 0:
            warnings.append(
                _("“%(name)s” extends about %(m2)s m² outside its parent “%(parent)s”.")
                % {"name": area.name, "m2": f"{outside:,.0f}", "parent": parent.name}
            )
    for child in area.children.all():
        if child.boundary is None:
            continue
        outside = area_outside(parse_boundary(child.boundary), geometry, tolerance)
        if outside > 0:
            warnings.append(
                _("Child “%(name)s” extends about %(m2)s m² outside “%(parent)s”.")
                % {"name": child.name, "m2": f"{outside:,.0f}", "parent": area.name}
            )
    return warnings


def _set_lineage_from(area: Area, parent: Area | None) -> None:
    for level, field_name in LINEAGE_FIELD_OF_LEVEL.items():
        if level < area.level:
            setattr(area, field_name, parent.lineage_pk(level) if parent else None)
        elif level == area.level:
            setattr(area, field_name, area.pk)
        else:
            setattr(area, field_name, None)


@transaction.atomic
def create_area(
    *,
    parent: Area | None,
    kind: str,
    name: str,
    local_code: str,
    by=None,
    boundary=None,
    dedicated_kind: str = "",
    address: str = "",
    service_phone: str = "",
    households: int | None = None,
) -> AreaChange:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("The area needs a name."))
    check_parent(kind, parent)
    if kind == AreaKind.DEDICATED and dedicated_kind not in DedicatedKind.values:
        raise ValidationError(_("Choose what kind of dedicated grid this is."))
    segment = codes.validate_local_code(kind, local_code)
    code = f"{parent.code}{segment}" if parent else segment
    _check_code_free(code)
    area = Area(
        parent=parent,
        kind=kind,
        level=LEVEL_OF_KIND[AreaKind(kind)],
        name=name,
        local_code=segment,
        code=code,
        dedicated_kind=dedicated_kind if kind == AreaKind.DEDICATED else "",
        address=address,
        service_phone=service_phone,
        households=households,
        path=f"/new-{uuid.uuid4().hex}/",  # replaced below once the pk is known
    )
    _apply_boundary(area, boundary)
    area.save()
    area.path = f"{parent.path if parent else '/'}{area.pk}/"
    _set_lineage_from(area, parent)
    area.save(update_fields=["path", *LINEAGE_FIELD_OF_LEVEL.values()])
    warnings = boundary_warnings(area, parent)
    if boundary is not None:
        bump_spatial_version()
    record("area.created", area, actor=by, area=area, code=code, kind=kind, warnings=warnings)
    return AreaChange(area, warnings)


EDITABLE_FIELDS = ("name", "address", "service_phone", "households", "dedicated_kind")


@transaction.atomic
def update_area(area: Area, *, by=None, **changes) -> AreaChange:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    if "name" in changes and not (changes["name"] or "").strip():
        raise ValidationError(_("The area needs a name."))
    if (
        "dedicated_kind" in changes
        and area.kind == AreaKind.DEDICATED
        and changes["dedicated_kind"] not in DedicatedKind.values
    ):
        raise ValidationError(_("Choose what kind of dedicated grid this is."))
    before = {k: getattr(area, k) for k in changes}
    for key, value in changes.items():
        setattr(area, key, value.strip() if isinstance(value, str) else value)
    area.save(update_fields=[*changes, "updated_at"])
    record("area.updated", area, actor=by, area=area, before=before, after={k: getattr(area, k) for k in changes})
    return AreaChange(area)


@transaction.atomic
def set_boundary(area: Area, geojson, *, by=None) -> AreaChange:
    _apply_boundary(area, geojson)
    area.save(
        update_fields=["boundary", "min_lon", "min_lat", "max_lon", "max_lat", "centre_lon", "centre_lat", "updated_at"]
    )
    warnings = boundary_warnings(area, area.parent)
    bump_spatial_version()
    record("area.boundary_set", area, actor=by, area=area, cleared=geojson is None, warnings=warnings)
    return AreaChange(area, warnings)


@transaction.atomic
def move_area(area: Area, new_parent: Area, *, by=None, local_code: str | None = None) -> AreaChange:
    """Move an area and its whole subtree under a new parent: paths, codes and lineage in one transaction."""
    area.refresh_from_db()
    new_parent.refresh_from_db()
    check_parent(area.kind, new_parent)
    if new_parent.is_within(area):
        raise ValidationError(_("An area cannot be moved into its own subtree."))
    if new_parent.pk == area.parent_id and local_code is None:
        return AreaChange(area)
    old_path, old_code, old_parent_id = area.path, area.code, area.parent_id
    new_path = f"{new_parent.path}{area.pk}/"
    new_code = codes.compose(new_parent.code, area.kind, local_code or area.local_code)
    _check_code_free(new_code, exclude_pk=area.pk)

    # Compare-and-set on the old path: a concurrent move of the same area loses cleanly.
    moved = Area.objects.filter(pk=area.pk, path=old_path).update(parent=new_parent)
    if moved != 1:
        raise ValidationError(_("“%(name)s” was changed by someone else; reload and try again.") % {"name": area.name})
    subtree = Area.objects.filter(subtree_q(old_path))
    lineage = {
        field_name: Value(new_parent.lineage_pk(level))
        for level, field_name in LINEAGE_FIELD_OF_LEVEL.items()
        if level < area.level
    }
    subtree.update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        code=Concat(Value(new_code), Substr("code", len(old_code) + 1)),
        **lineage,
    )
    Area.objects.filter(pk=area.pk).update(local_code=new_code[len(new_parent.code) :])
    area.refresh_from_db()
    subtree_moved.send(sender=Area, area=area, old_path=old_path, new_path=new_path)
    bump_spatial_version()
    warnings = boundary_warnings(area, new_parent)
    record(
        "area.moved",
        area,
        actor=by,
        area=area,
        from_parent=old_parent_id,
        to_parent=new_parent.pk,
        old_code=old_code,
        new_code=new_code,
        warnings=warnings,
    )
    return AreaChange(area, warnings)


@transaction.atomic
def replace_duties(area: Area, role: str, items: list[tuple[str, str]], *, by=None) -> list[DutyItem]:
    """Give a role in an area its own duty list (an empty list falls back to the parent's)."""
    if role not in Role.values:
        raise ValidationError(_("Unknown role “%(role)s”.") % {"role": role})
    cleaned = [(title.strip(), (detail or "").strip()) for title, detail in items if title and title.strip()]
    if any(len(title) > 120 for title, _detail in cleaned):
        raise ValidationError(_("A duty title may have at most 120 characters."))
    DutyItem.objects.filter(area=area, role=role).delete()
    rows = DutyItem.objects.bulk_create(
        DutyItem(area=area, role=role, position=i, title=title, detail=detail)
        for i, (title, detail) in enumerate(cleaned)
    )
    record("area.duties_replaced", area, actor=by, area=area, role=role, count=len(rows))
    return rows
