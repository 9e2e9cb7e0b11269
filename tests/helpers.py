"""Small helpers the test modules share."""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

from django.contrib.auth.models import User
from django.test import Client

from clinic import native

# Two small typed modules standing in for the planner and the cadence rules, for builds in a scratch folder.
TINY_SOURCES = {
    "careplans/cadence.py": "def days_between(first: int, last: int) -> int:\n    return last - first\n",
    "scheduling/planner.py": (
        "from careplans.cadence import days_between\n\n\n"
        "def spacing(first: int, last: int) -> int:\n    return days_between(first, last) * 2\n"
    ),
}


def as_user(user: User) -> Client:
    """A browser session signed in as ``user`` (no password round trip)."""
    client = Client()
    client.force_login(user)
    return client


def tiny_project(root: Path) -> Path:
    """A project folder holding only the two pure modules (TINY_SOURCES)."""
    for path, text in TINY_SOURCES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).parent.joinpath("__init__.py").touch()
        (root / path).write_text(text)
    return root


def fake_build(root: Path) -> None:
    """What a build leaves behind, without compiling: an extension file and the stamp of the sources."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (root / "scheduling" / f"planner{suffix}").write_bytes(b"")
    (root / native.STAMP).write_text(native.source_digest(root) + "\n")
