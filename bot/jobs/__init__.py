"""Scheduled sending: the dispatcher tick (daily questions), streak reminders,
and the recorder of send outcomes."""
