"""What other apps may follow of a case's life. Sent inside the step's transaction, so what a receiver
writes (points earned, for one) commits or rolls back with the step."""

from django.dispatch import Signal

# sender=Case; case, name (the transition), by (who made it, or None), now.
case_stepped = Signal()
