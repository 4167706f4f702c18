"""Once the Rasa server has loaded its model, its heap is moved out of the collector's reach
(and the webhook front's, once it is ready to serve).

Why: a loaded Rasa server holds about 870,000 objects that live as long as it does (TensorFlow,
the model, Rasa's modules), and every full garbage collection walks them all: 415 ms measured on
this project's machine (docs/benchmarks.md). For that long the server answers nothing, and a
SQLite write lock its turn thread holds stays held: the webhook front's acknowledgements waited
half a second behind one during a burst (session 11). `gc.freeze()` after the start moves those
objects to a permanent generation that collections no longer scan: a full collection then walks
only what the server allocated since, in well under a millisecond.

The price: frozen objects are never collected (reference counting still frees what is not in a
cycle). They were going to live as long as the process anyway, except a model replaced at run
time through Rasa's HTTP API, whose reference cycles now stay in memory (the README says so).
"""

from __future__ import annotations

import gc
import logging
from typing import Any

logger = logging.getLogger(__name__)


def freeze_loaded_heap() -> int:
    """Collect once, then freeze everything alive; returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("server.heap.frozen objects=%d", frozen)
    return frozen


def freeze_after_start(blueprint: Any) -> None:
    """Register the freeze on a channel's blueprint: Rasa loads the model before the server
    starts, so by "after_server_start" the heap holds what the server will keep."""

    @blueprint.listener("after_server_start")
    async def _freeze(app: Any, loop: Any) -> None:
        freeze_loaded_heap()
