"""Small helpers the test modules share."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client


def as_user(user: User) -> Client:
    """A browser session signed in as ``user`` (no password round trip)."""
    client = Client()
    client.force_login(user)
    return client
