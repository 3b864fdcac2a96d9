"""The embedded default's broker: kombu's folder on disk, with each message written whole.

kombu's filesystem transport creates a message's file under its final name and then writes
it. A worker listing the folder in between takes an empty file, fails to decode it and stops
("Unrecoverable error: JSONDecodeError"). Polling the folder twenty times a second (see
`CELERY_BROKER_TRANSPORT_OPTIONS`) made that a matter of minutes. Here a message is written
under a name no queue reads, then renamed into place, which POSIX makes atomic.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Not "<queue>.msg": the transport's listing skips a file while it is being written.
WRITING_SUFFIX = ".writing"


class Channel(filesystem.Channel):
    # As kombu's own `_put`, which its fanout calls with keyword arguments the stubs leave out.
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # The same name as kombu's: the folder's sorted listing is the queue's order.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f"{uuid.uuid4()}{WRITING_SUFFIX}")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(message)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
