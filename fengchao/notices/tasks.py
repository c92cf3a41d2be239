from django.tasks import task

from .backends import backend


@task
def send_to_case_contact(case_pk: int, text: str) -> None:
    from fengchao.cases.models import Case

    case = Case.objects.filter(pk=case_pk).first()
    if case is not None and case.phone_cipher:
        backend().send(case.phone, text)
