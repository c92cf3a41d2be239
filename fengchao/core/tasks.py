from django.tasks import task


@task
def echo(value: str) -> str:
    """A no-op task used to prove the worker end to end (tests and `manage.py check_worker`)."""
    return value
