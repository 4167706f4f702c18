"""Delivers a data-subject export (GDPR art. 15) that the action server prepared.

The action server cannot send files, so it seals the export under the subject's own key into
SIGILLO_DATA_DIR/exports/ and hands the channel a pointer (`{"sigillo_export": {...}}`, see
actions/rights.py). Here the pointer is checked (the file must lie in the exports folder and
belong to this subject), the export is opened, uploaded as a document, sent, and the file is
deleted: it never rests in clear, and a copy left behind would be unreadable after erasure.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXPORTS_DIR = "exports"


class ExportPointerError(ValueError):
    """The pointer is malformed or names a file outside the exports folder."""


@dataclass(frozen=True)
class ExportFile:
    path: Path
    subject: str
    field: str
    filename: str
    mime_type: str
    token: bytes


def data_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("SIGILLO_DATA_DIR", "").strip() or "data")


def read_export(pointer: dict[str, Any], subject: str, root: Path) -> ExportFile:
    """The sealed export a pointer names, after checking it is this subject's, in exports/."""
    try:
        relative = str(pointer["file"])
        field = str(pointer["field"])
        filename = str(pointer.get("filename", "my-data.json"))
        mime_type = str(pointer.get("mime_type", "application/json"))
    except (KeyError, TypeError) as exc:
        raise ExportPointerError("sigillo_export: missing file or field") from exc
    exports = (root / EXPORTS_DIR).resolve()
    path = (root / relative).resolve()
    if path.parent != exports:
        raise ExportPointerError("sigillo_export.file: not in the exports folder")
    content = json.loads(path.read_text())
    if content.get("subject") != subject or pointer.get("subject") != subject:
        raise ExportPointerError("sigillo_export: the export belongs to another subject")
    return ExportFile(path, subject, field, filename, mime_type, base64.b64decode(content["token"]))


def document_body(envelope: dict[str, Any], media_id: str, filename: str) -> dict[str, Any]:
    return {**envelope, "document": {"id": media_id, "filename": filename}}
