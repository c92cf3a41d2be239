"""Every change to inspections: inspecting a building or place against a checklist, re-inspecting what failed
until it is rectified (整改), and keeping the checklists (admin).

Each function runs in one transaction and writes its audit event there. An inspection carries a key per form
shown (unique per inspector), so a double tap or a resent request answers with the inspection already recorded.
A failed item not fixed on the spot raises a hazard case (channel: member) in the same transaction.
"""

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.audit.services import record
from fengchao.cases import photos as photo_checks
from fengchao.cases import suggest
from fengchao.core.errors import StaleRecord
from fengchao.points.choices import Action
from fengchao.points.services import earn
from fengchao.registry.models import Building, Place

from . import queries
from .choices import NOTE_MAX, Outcome, State
from .models import ChecklistTemplate, Inspection, InspectionItem

CODE_RE = re.compile(r"^[a-z0-9_-]{1,40}$")


class NotOpen(StaleRecord):
    """The inspection has no failure awaiting rectification (any more)."""

    def __init__(self, inspection):
        super().__init__(
            _("This inspection is “%(state)s”: there is nothing left to re-inspect.")
            % {"state": State(inspection.state).label}
        )


# ---- checklists -----------------------------------------------------------------------------------------------


def clean_items(items) -> list[dict]:
    """A checklist's items, checked: a list of {code, text, category}, codes unique."""
    if not isinstance(items, list) or not items:
        raise ValidationError({"items": _("A checklist needs at least one item.")})
    cleaned, seen = [], set()
    for item in items:
        if not isinstance(item, dict):
            raise ValidationError({"items": _("Each item is an object with code, text and category.")})
        code = str(item.get("code") or "").strip()
        text = str(item.get("text") or "").strip()
        if not CODE_RE.match(code):
            raise ValidationError({"items": _("Item codes are short lower-case letters, digits, - or _.")})
        if code in seen:
            raise ValidationError({"items": _("The item code “%(code)s” appears twice.") % {"code": code}})
        if not text or len(text) > 200:
            raise ValidationError({"items": _("Each item needs a text of at most 200 characters.")})
        seen.add(code)
        cleaned.append({"code": code, "text": text, "category": str(item.get("category") or "").strip()})
    return cleaned


def save_template(by, template: ChecklistTemplate) -> ChecklistTemplate:
    """Add or change a checklist (from the admin); a change to its items bumps its version."""
    template.items = clean_items(template.items)
    with transaction.atomic():
        if template.pk:
            before = ChecklistTemplate.objects.filter(pk=template.pk).values_list("items", flat=True).first()
            if before is not None and before != template.items:
                template.version = F("version") + 1
            template.save()
            template.refresh_from_db()
        else:
            template.save()
        record("inspections.template_saved", template, actor=by, code=template.code, version=template.version)
    return template


# ---- inspecting -----------------------------------------------------------------------------------------------


def _kind(target) -> str:
    if isinstance(target, Building):
        return "building"
    if isinstance(target, Place):
        return "place"
    raise ValidationError({"target": _("Inspect a building or a place.")})


def _note(raw, field="note") -> str:
    note = str(raw or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({field: _("Keep a note under %(n)d characters.") % {"n": NOTE_MAX}})
    return note


def _coordinate(value, field, low, high):
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise ValidationError({field: _("Give a number between %(low)d and %(high)d.") % {"low": low, "high": high}})
    return number


def _answers_by_code(answers, expected: list[dict], outcomes) -> dict[str, dict]:
    """{code: answer} with every expected item answered exactly once, or a refusal naming the item."""
    if not isinstance(answers, list | tuple):
        raise ValidationError({"answers": _("Send the answers as a list, one per checklist item.")})
    texts = {item["code"]: item["text"] for item in expected}
    found: dict[str, dict] = {}
    for answer in answers:
        if not isinstance(answer, dict):
            raise ValidationError({"answers": _("Each answer is an object with code and outcome.")})
        code = str(answer.get("code") or "")
        if code not in texts:
            raise ValidationError({"answers": _("“%(code)s” is not an item to answer here.") % {"code": code[:40]}})
        if code in found:
            raise ValidationError({"answers": _("“%(item)s” is answered twice.") % {"item": texts[code]}})
        outcome = str(answer.get("outcome") or "")
        if outcome not in outcomes:
            raise ValidationError(
                {"answers": _("Answer “%(item)s” with one of: %(choices)s.") % {
                    "item": texts[code], "choices": ", ".join(str(Outcome(o).label) for o in outcomes)}}
            )  # fmt: skip
        found[code] = {
            "outcome": outcome,
            "note": _note(answer.get("note"), "answers"),
            "fixed_on_spot": bool(answer.get("fixed_on_spot")) and outcome == Outcome.FAIL,
        }
    missing = [item["text"] for item in expected if item["code"] not in found]
    if missing:
        raise ValidationError({"answers": _("Answer “%(item)s”.") % {"item": missing[0]}})
    return found


def _photo(photos, name, field="photos"):
    upload = (photos or {}).get(name)
    if not upload:
        return None
    return photo_checks.check_photos([upload], field)[0]


def _store(item: InspectionItem, checked, which: str = "photo") -> None:
    if checked is None:
        return
    upload, extension, content_type = checked
    getattr(item, which).save(f"{photo_checks.new_token()}.{extension}", upload, save=False)
    setattr(item, f"{which}_type", content_type)


def hazard_category(code: str):
    """The category a failed item raises: its own if usable, else the fallback (settings.INSPECTIONS_FALLBACK_
    CATEGORY, default G0401 其他诉求); None if neither is usable."""
    for candidate in (code, settings.INSPECTIONS_FALLBACK_CATEGORY):
        if candidate:
            found = suggest.usable_category(candidate)
            if found is not None:
                return found
    return None


def _case_key(inspection: Inspection, code: str) -> str:
    return f"inspection-{inspection.pk}-{re.sub(r'[^A-Za-z0-9_-]', '_', code)}"[:64]


def _raise_hazard(by, inspection: Inspection, item: InspectionItem, category_code: str, upload):
    from fengchao.cases.services import submit_case

    category = hazard_category(category_code)
    if category is None:
        raise ValidationError(
            {"answers": _("No case category is in use for “%(item)s”: ask the administrator.") % {"item": item.text}}
        )
    target = inspection.target
    description = f"{target.name}: {item.text}. {item.note}".strip()
    case, _created = submit_case(
        channel="member",
        category=category,
        description=description,
        idempotency_key=_case_key(inspection, item.code),
        by=by,
        area=inspection.area,
        address=getattr(target, "address", "") or "",
        before_photos=[upload],
    )
    return case


def _replay(by, key: str):
    if not key:
        return None
    return Inspection.objects.filter(inspector=by, key=key).first()


def already_recorded(by, key) -> Inspection | None:
    """The inspection (or re-inspection) this person already recorded with this key, if any."""
    return _replay(by, str(key or "").strip()[:64])


def inspect(
    by, *, target, template, answers, photos=None, key="", note="", lon=None, lat=None, now=None
) -> tuple[Inspection, bool]:
    """Record an inspection of a building or place against a checklist; (inspection, created).

    `answers`: one {code, outcome (pass|fail|na), note, fixed_on_spot} per checklist item; `photos`: {code: file}
    (required for a failure) and {code + ":after": file} (optional, the result of a fix on the spot). A repeated
    key returns the first inspection."""
    if not queries.is_inspector(by):
        raise PermissionDenied(_("Only people serving a grid inspect."))
    key = str(key or "").strip()[:64]
    done = _replay(by, key)
    if done is not None:
        return done, False
    kind = _kind(target)
    if not queries.may_inspect(by, target):
        raise Http404("No such place for you.")
    if not target.is_active:
        raise ValidationError({"target": _("%(name)s is no longer in use.") % {"name": target.name}})
    if template is None or not template.is_active:
        raise ValidationError({"template": _("Choose a checklist in use.")})
    if not (template.applies_to_buildings if kind == "building" else template.applies_to_places):
        raise ValidationError({"template": _("This checklist is not for this kind of place.")})
    expected = list(template.items or [])
    found = _answers_by_code(answers, expected, Outcome.values)
    note = _note(note)
    lon, lat = _coordinate(lon, "lon", -180, 180), _coordinate(lat, "lat", -90, 90)
    checked = {}
    for item in expected:
        answer = found[item["code"]]
        before = _photo(photos, item["code"])
        if answer["outcome"] == Outcome.FAIL and before is None:
            raise ValidationError({"photos": _("Take a photo of “%(item)s”: it failed.") % {"item": item["text"]}})
        after = _photo(photos, f"{item['code']}:after") if answer["fixed_on_spot"] else None
        checked[item["code"]] = (before, after)
    now = now or timezone.now()
    area = target.area
    try:
        with transaction.atomic():
            inspection = Inspection(
                template=template, template_version=template.version, inspector=by, at=now, note=note,
                lon=lon, lat=lat, state=State.PASSED, key=key,
                building=target if kind == "building" else None, place=target if kind == "place" else None,
            )  # fmt: skip
            inspection.place_in(area)
            inspection.save(force_insert=True)
            failures = fixed = 0
            for position, item in enumerate(expected):
                answer = found[item["code"]]
                before, after = checked[item["code"]]
                row = InspectionItem(
                    inspection=inspection, position=position, code=item["code"], text=item["text"],
                    outcome=answer["outcome"], note=answer["note"], fixed_on_spot=answer["fixed_on_spot"],
                )  # fmt: skip
                if answer["outcome"] == Outcome.FAIL:
                    _store(row, before)
                    if answer["fixed_on_spot"]:
                        _store(row, after, "after_photo")
                        row.rectified_at, row.rectified_by = now, by
                        fixed += 1
                    else:
                        row.case = _raise_hazard(by, inspection, row, item.get("category", ""), before[0])
                        failures += 1
                elif before is not None:
                    _store(row, before)
                row.save()
            if failures:
                inspection.state = State.OPEN
                Inspection.objects.filter(pk=inspection.pk).update(state=State.OPEN)
            earn(by, Action.INSPECTION_DONE, source=inspection, area=area, label=f"{target.name} {template.name}")
            record(
                "inspections.inspected",
                inspection,
                actor=by,
                area=area,
                template=template.code,
                target=f"{kind}:{target.pk}",
                state=inspection.state,
                failures=failures,
                fixed_on_spot=fixed,
            )
    except IntegrityError:
        done = _replay(by, key)
        if done is None:
            raise
        return done, False
    return inspection, True


def reinspect(by, inspection: Inspection, *, answers, photos=None, key="", note="", now=None) -> Inspection:
    """Re-check the failures of an open inspection still awaiting rectification; the new inspection follows it.

    `answers`: one {code, outcome (pass|fail), note} per open failure; photos ({code: file}) are optional. A pass
    marks the failed item rectified; when none is left the first inspection becomes rectified. A repeated key
    returns the re-inspection already recorded."""
    if not queries.is_inspector(by):
        raise PermissionDenied(_("Only people serving a grid inspect."))
    key = str(key or "").strip()[:64]
    done = _replay(by, key)
    if done is not None:
        return done
    original = inspection.follows if inspection.follows_id else inspection
    original = Inspection.objects.select_related("building", "place", "area", "template").get(pk=original.pk)
    # The version the caller saw (of the first inspection itself, when given it): a change since is stale.
    seen_version = original.version if inspection.follows_id else inspection.version
    target = original.target
    if not queries.may_inspect(by, target):
        raise Http404("No such inspection.")
    if original.state != State.OPEN:
        raise NotOpen(original)
    open_items = [i for i in original.items.order_by("position", "pk") if i.is_open]
    expected = [{"code": i.code, "text": i.text} for i in open_items]
    found = _answers_by_code(answers, expected, [Outcome.PASS, Outcome.FAIL])
    note = _note(note)
    checked = {i.code: _photo(photos, i.code) for i in open_items}
    now = now or timezone.now()
    passed = [i for i in open_items if found[i.code]["outcome"] == Outcome.PASS]
    closes = len(passed) == len(open_items)
    new_state = State.RECTIFIED if closes else State.OPEN
    try:
        with transaction.atomic():
            # Compare-and-set on the first inspection: two re-inspections of the same one cannot both count.
            changed = Inspection.objects.filter(pk=original.pk, state=State.OPEN, version=seen_version).update(
                state=new_state, version=F("version") + 1
            )
            if changed != 1:
                original.refresh_from_db()
                raise NotOpen(original) if original.state != State.OPEN else StaleRecord()
            again = Inspection(
                template=original.template, template_version=original.template_version, inspector=by, at=now,
                note=note, state=new_state, follows=original, key=key,
                building=original.building, place=original.place,
            )  # fmt: skip
            again.place_in(original.area)
            again.save(force_insert=True)
            for position, item in enumerate(open_items):
                answer = found[item.code]
                row = InspectionItem(
                    inspection=again, position=position, code=item.code, text=item.text,
                    outcome=answer["outcome"], note=answer["note"],
                )  # fmt: skip
                _store(row, checked[item.code])
                if answer["outcome"] == Outcome.PASS:
                    row.rectified_at, row.rectified_by = now, by
                row.save()
            InspectionItem.objects.filter(pk__in=[i.pk for i in passed], rectified_at__isnull=True).update(
                rectified_at=now, rectified_by=by
            )
            record(
                "inspections.reinspected",
                again,
                actor=by,
                area=original.area,
                follows=original.pk,
                passed=[i.code for i in passed],
                still_failing=[i.code for i in open_items if i not in passed],
            )
            if closes:
                Inspection.objects.filter(follows=original, state=State.OPEN).exclude(pk=again.pk).update(
                    state=State.RECTIFIED, version=F("version") + 1
                )
                record("inspections.rectified", original, actor=by, area=original.area, by_inspection=again.pk)
    except IntegrityError:
        done = _replay(by, key)
        if done is None:
            raise
        return done
    return again
