"""The public surface of compliance.media (style rule 12): an export added or dropped by
accident is a failing test."""

from __future__ import annotations

import compliance.media

MEDIA = {
    "AUDIT_KIND", "HANDLE_PREFIX", "MediaNotFound", "MediaRecorder", "MediaStore",
    "MediaSummary", "count_media", "delete_media_older_than", "delete_subject_media",
    "delete_unreadable_media", "list_media",
}


def test_media_exports() -> None:
    assert set(compliance.media.__all__) == MEDIA
    assert all(hasattr(compliance.media, name) for name in MEDIA)
