"""Celery's filesystem transport (the embedded default's broker), made safe to read while it is written.

kombu's filesystem transport creates a message file under its final name and only then writes it. A
worker polling the folder in between moves the still-empty file away and fails on it with
``JSONDecodeError`` (seen under load in ``tests/integration/test_worker.py``), and the task is lost.
Here a message is written under a name no reader looks at, then renamed into place: a rename within one
folder is atomic, so a reader sees the whole message or nothing.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu-stubs disagree with themselves on the parameter name (message, payload); this is kombu's own.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # kombu's own name (readers sort by its leading milliseconds), plus ".part" while it is written:
        # readers take only names ending in ".<queue>.msg".
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as f:
                f.write(dumps(payload).encode())
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
