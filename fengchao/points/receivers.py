"""Points earned from the other apps' steps, in the same transaction as the step.

Cases: when a case closes (it was a real matter, handled and verified), whoever resolved it earns
"case.handled" and whoever reported it earns "case.reported", each as the rule at the case's area
says. A case that is reopened and closed again pays nobody twice (one claim per source).
"""

from django.dispatch import receiver

from fengchao.cases.hooks import case_stepped

from . import services
from .choices import Action


@receiver(case_stepped)
def earn_from_closed_case(sender, case, name, now, **kwargs):
    if name != "close":
        return
    label = f"{case.number} {case.category.name}"
    if case.resolved_by_id:
        services.earn(case.resolved_by, Action.CASE_HANDLED, source=case, area=case.area, at=now, label=label)
    if case.reporter_id:
        services.earn(case.reporter, Action.CASE_REPORTED, source=case, area=case.area, at=now, label=label)
