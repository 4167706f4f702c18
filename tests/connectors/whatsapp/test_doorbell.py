"""The front's doorbell: frames that a full pipe can refuse whole, never tear, and a ring that
never waits for a server that does not read."""

from __future__ import annotations

import os
import pickle
from multiprocessing import Pipe

import pytest

from connectors.whatsapp.doorbell import ATOMIC_PAYLOAD_BYTES, Doorbell, frames

SUBJECT = "wa_" + "x" * 43  # a pseudonym's length


def batch(size: int, start: int = 0) -> list[tuple[int, str]]:
    return [(seq, SUBJECT) for seq in range(start, start + size)]


@pytest.mark.parametrize("size", [0, 1, 2, 40, 200, 1000])
def test_frames_fit_one_atomic_write_and_keep_every_message_in_order(size: int) -> None:
    recorded = batch(size)
    split = list(frames(recorded))
    assert all(len(frame) <= ATOMIC_PAYLOAD_BYTES for frame, _ in split)
    assert [m for frame, _ in split for m in pickle.loads(frame)] == recorded
    assert sum(count for _, count in split) == size
    assert (len(split) > 1) == (len(pickle.dumps(recorded)) > ATOMIC_PAYLOAD_BYTES)


def test_a_full_pipe_drops_whole_rings_and_the_reader_still_reads_whole_ones() -> None:
    reader, writer = Pipe(duplex=False)
    doorbell = Doorbell(writer)
    sent = 0
    while not doorbell.dropped:  # nobody reads: ring until the pipe is full
        doorbell.ring(batch(3, start=sent))
        sent += 3
    doorbell.ring(batch(3, start=sent))  # returns at once, as the first dropped ring did
    assert doorbell.dropped == 6

    received = []
    while reader.poll():
        received.extend(reader.recv())
    assert received == batch(sent - 3)  # every ring that fit, whole; nothing torn

    doorbell.ring(batch(2, start=10**6))
    assert reader.recv() == batch(2, start=10**6)
    assert doorbell.dropped == 0
    assert not os.get_blocking(writer.fileno())
