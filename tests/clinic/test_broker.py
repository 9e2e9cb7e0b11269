"""The embedded broker (files in a folder): a worker polling while a task is published never reads half a
message, which kombu's own filesystem transport allowed (an empty file, then a JSONDecodeError)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection

from clinic import broker


@pytest.fixture
def channel(tmp_path: Path) -> Any:
    folder = str(tmp_path)
    options = {"data_folder_in": folder, "data_folder_out": folder, "control_folder": folder}
    with Connection(transport="clinic.broker:Transport", transport_options=options) as connection:
        yield connection.default_channel


def test_a_message_being_written_is_invisible_to_a_polling_worker(
    channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_while_writing: list[str] = []
    polls = []
    rename = os.replace

    def poll_then_rename(partial: str, final: str) -> None:
        # The moment kombu's transport was unsafe: the file exists and a worker polls the folder.
        assert Path(partial).read_bytes(), "the whole message is written before it is renamed"
        polls.append(partial)
        with contextlib.suppress(Empty):
            seen_while_writing.append(channel._get("reminders"))
        rename(partial, final)

    monkeypatch.setattr(broker.os, "replace", poll_then_rename)
    channel._put("reminders", {"body": "sweep"})
    assert len(polls) == 1
    assert seen_while_writing == []
    assert channel._get("reminders") == {"body": "sweep"}
