"""Inbound media download, the I/O part: run by the turn (never by the webhook, whose answer must
stay fast), when the channel's `download_media` setting is on.

For each media message: resolve the media id to a URL (`GraphClient.media_url`), refuse what Meta
declares too large or without a digest, download with the bearer token (`download_media`, which
refuses hosts other than Meta's and the configured Graph host), fetch a fresh URL once if the
first one 404s (they expire after 5 minutes, whatsapp-cloud-api.md §9), check the size cap and
Meta's sha256, then hand the bytes to the sink, which seals them under the subject's data key and
audits the download (compliance.media.MediaRecorder). Rasa's metadata then carries our opaque
handle, the MIME type and the size; never the bytes, Meta's URL or Meta's media id.

A failure of any kind never fails the turn: the message reaches Rasa with `media_status:
unavailable` and a reason code, the log line holds the code only, and the sink audits it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.whatsapp.graph_client import GraphClient, MediaInfo
from connectors.whatsapp.graph_errors import GraphError
from connectors.whatsapp.media_checks import (
    DEFAULT_MEDIA_MAX_BYTES,
    META_MEDIA_ID,
    MediaFailure,
    MediaUnavailable,
    check_content,
    check_declared,
    failure_of,
    stored_metadata,
    unavailable_metadata,
)

logger = logging.getLogger(__name__)

# The whole download (URL, bytes, one URL refresh, retries included) must end well inside the
# inbox lease (30 s, connectors/whatsapp/inbox.py), or another worker would claim the turn again.
DEFAULT_BUDGET_SECONDS = 20.0


class StoredMedia(Protocol):
    handle: str
    size_bytes: int


class MediaSink(Protocol):
    """Where downloaded bytes go: compliance.media.MediaRecorder (seals, stores, audits)."""

    def store(
        self, subject: str, media_id: str, kind: str, mime_type: str | None, data: bytes
    ) -> StoredMedia: ...

    def failed(self, subject: str, media_id: str, kind: str, reason: str) -> None: ...


@dataclass(frozen=True)
class Fetched:
    data: bytes = field(repr=False)
    mime_type: str | None


async def fetch_media(graph: GraphClient, media_id: str, max_bytes: int) -> Fetched:
    """The verified bytes of one media object; MediaUnavailable (or a Graph error) if not."""
    info = await _resolve(graph, media_id, max_bytes)
    try:
        data = await _download(graph, info, max_bytes)
    except MediaUnavailable as exc:
        if exc.failure is not MediaFailure.NOT_FOUND:
            raise
        info = await _resolve(graph, media_id, max_bytes)  # the URL expired: a fresh one, once
        data = await _download(graph, info, max_bytes)
    failure = check_content(data, info.sha256, max_bytes)
    if failure is not None:
        raise MediaUnavailable(failure)
    return Fetched(data, info.mime_type)


async def _resolve(graph: GraphClient, media_id: str, max_bytes: int) -> MediaInfo:
    info = await graph.media_url(media_id)
    failure = check_declared(info.file_size, info.sha256, max_bytes)
    if failure is not None:
        raise MediaUnavailable(failure)
    return info


async def _download(graph: GraphClient, info: MediaInfo, max_bytes: int) -> bytes:
    try:
        return await graph.download_media(info.url, max_bytes=max_bytes)
    except (GraphError, ValueError) as exc:
        raise MediaUnavailable(failure_of(exc, downloading=True)) from None


class MediaDownloader:
    """Turns a media message's metadata into its stored (or unavailable) form; never raises."""

    def __init__(
        self,
        sink: MediaSink,
        *,
        max_bytes: int = DEFAULT_MEDIA_MAX_BYTES,
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    ) -> None:
        self._sink = sink
        self._max_bytes = max_bytes
        self._budget = budget_seconds

    def __repr__(self) -> str:
        return f"MediaDownloader(max_bytes={self._max_bytes})"

    async def attach(
        self, graph: GraphClient, subject: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        """The metadata Rasa gets for this message (unchanged if it carries no media)."""
        media_id = metadata.get(META_MEDIA_ID)
        if not isinstance(media_id, str) or not media_id:
            return metadata
        kind = str(metadata.get("media_kind") or "media")
        try:
            fetched = await asyncio.wait_for(
                fetch_media(graph, media_id, self._max_bytes), self._budget
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever went wrong, the user's message still goes through
            return self._unavailable(
                subject, media_id, kind, metadata, failure_of(exc, downloading=False)
            )
        mime_type = fetched.mime_type or metadata.get("mime_type")
        try:
            # Sealing and writing 16 MB takes a few hundred ms: off the turn loop, so that other
            # senders' turns keep running meanwhile.
            stored = await asyncio.to_thread(
                self._sink.store, subject, media_id, kind, mime_type, fetched.data
            )
        except Exception as exc:  # database down, or the subject erased meanwhile
            logger.warning("whatsapp.media.store_failed error=%s", type(exc).__name__)
            return self._unavailable(subject, media_id, kind, metadata, MediaFailure.STORAGE_FAILED)
        logger.info("whatsapp.media.stored kind=%s size=%d", kind, stored.size_bytes)
        return stored_metadata(metadata, stored.handle, stored.size_bytes, mime_type)

    def _unavailable(
        self,
        subject: str,
        media_id: str,
        kind: str,
        metadata: dict[str, Any],
        failure: MediaFailure,
    ) -> dict[str, Any]:
        logger.warning("whatsapp.media.unavailable kind=%s reason=%s", kind, failure.value)
        try:
            self._sink.failed(subject, media_id, kind, failure.value)
        except Exception as exc:  # the audit is best effort here; the turn goes on
            logger.warning("whatsapp.media.audit_failed error=%s", type(exc).__name__)
        return unavailable_metadata(metadata, failure)
