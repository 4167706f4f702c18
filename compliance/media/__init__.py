"""Inbound media (images, voice notes, documents ...) sealed per subject, when the channel
downloads them: storage, the channel's recorder (with audit), and the row operations erasure,
retention and KEK retirement use."""

from compliance.media.recorder import AUDIT_KIND, MediaRecorder
from compliance.media.store import (
    HANDLE_PREFIX,
    MediaNotFound,
    MediaStore,
    MediaSummary,
    count_media,
    delete_media_older_than,
    delete_subject_media,
    delete_unreadable_media,
    list_media,
)

__all__ = [
    "AUDIT_KIND",
    "HANDLE_PREFIX",
    "MediaNotFound",
    "MediaRecorder",
    "MediaStore",
    "MediaSummary",
    "count_media",
    "delete_media_older_than",
    "delete_subject_media",
    "delete_unreadable_media",
    "list_media",
]
