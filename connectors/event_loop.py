"""The event loop of the processes Sigillo starts itself: uvloop where it is installed.

The webhook front and the Cloud API simulator spend most of their CPU between the socket and the
handler: reading the request, scheduling callbacks, the executor hop, writing the answer. uvloop
does that work in C; the Rasa server already runs on it (Sanic installs it at start-up), and it
is in Rasa's own dependencies on Linux and macOS. Where it is missing (Windows), asyncio's own
loop serves, slower and otherwise the same.
"""

from __future__ import annotations

import asyncio
import os

# Set to 1 to run on asyncio's own loop (a comparison, or a fault suspected in uvloop).
NO_UVLOOP_VARIABLE = "SIGILLO_NO_UVLOOP"


def use_fast_event_loop() -> str:
    """Make new event loops uvloop's when it is there and not declined; returns which one."""
    if os.environ.get(NO_UVLOOP_VARIABLE, "") == "1":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"
