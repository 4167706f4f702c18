"""The front's end of the doorbell pipe: it rings the Rasa server and never waits for it.

A ring is only a hint (webhook_front.py): the inbox is the record, and the turn queue's sweep
finds every pending message within its interval. So when the pipe is full, because the server
reads nothing (stopped, swapped out, far behind), the ring is dropped rather than awaited:
a blocking write would stop the front's event loop, and with it every acknowledgement to Meta,
for as long as the server does not read.

Dropping must not tear a message: a reader that got half a pickle would lose its place in the
stream. POSIX makes a pipe write of at most PIPE_BUF bytes atomic, all or nothing, also when
the pipe does not block; so every frame, its four-byte length included, is kept within it.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
from collections.abc import Iterator
from multiprocessing.connection import Connection

logger = logging.getLogger(__name__)

Recorded = list[tuple[int, str]]

# multiprocessing's Connection writes a 4-byte length and the payload in one write() when the
# payload is at most 16 KiB: the whole frame must fit in one atomic pipe write.
_FRAME_HEADER_BYTES = 4
ATOMIC_PAYLOAD_BYTES = select.PIPE_BUF - _FRAME_HEADER_BYTES


def frames(recorded: Recorded) -> Iterator[tuple[bytes, int]]:
    """`recorded` pickled in as few frames as keep each within one atomic pipe write, each
    with the number of messages it holds."""
    frame = pickle.dumps(recorded, protocol=pickle.HIGHEST_PROTOCOL)
    if len(frame) <= ATOMIC_PAYLOAD_BYTES or len(recorded) <= 1:
        yield frame, len(recorded)  # one (seq, subject) pickles to under a hundred bytes
        return
    half = len(recorded) // 2
    yield from frames(recorded[:half])
    yield from frames(recorded[half:])


class Doorbell:
    """Rings with each batch of newly recorded messages; drops a ring the pipe has no room for."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        os.set_blocking(connection.fileno(), False)
        self.dropped = 0  # messages whose ring found the pipe full, since the last ring that passed

    def ring(self, recorded: Recorded) -> None:
        for frame, count in frames(recorded):
            if not self._write(frame):
                if not self.dropped:
                    logger.warning("whatsapp.webhook_front.doorbell_full (the sweep will run them)")
                self.dropped += count
                continue
            if self.dropped:
                logger.info("whatsapp.webhook_front.doorbell_clear dropped=%d", self.dropped)
                self.dropped = 0

    def answer(self, message: tuple[object, ...]) -> bool:
        """Another kind of message on the same pipe (a send's confirmation: front_sending.py),
        from another thread: one atomic write, so it never tears a ring. False when the pipe is
        full: the caller tries again, as a confirmation must not be dropped."""
        frame = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        assert len(frame) <= ATOMIC_PAYLOAD_BYTES, "a confirmation is a few dozen bytes"
        return self._write(frame)

    def _write(self, frame: bytes) -> bool:
        """One atomic write of a frame within PIPE_BUF; False if the pipe has no room for it."""
        try:
            self._connection.send_bytes(frame)
        except BlockingIOError:
            return False
        return True
