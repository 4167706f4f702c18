"""Field getters shared by the send rules: each raises `RuleBroken` with a Meta-shaped error.

Source: whatsapp-cloud-api.md §6 (131008 missing parameter, 131009 value not valid, 100 wrong
type) and §7 (media objects: `link` or `id`, captions ≤ 1,024 for image/video/document only).
"""

from __future__ import annotations

from connectors.whatsapp import limits
from connectors.whatsapp.simulator.errors import ValidationError, bad_parameter, invalid, missing

MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
_CAPTIONED = ("image", "document", "video")  # §7: audio/sticker have no caption


class RuleBroken(Exception):
    """Carries the first broken rule out of the nested checks."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(error.details)
        self.error = error


def one_of(values: tuple[str, ...]) -> str:
    """Meta's wording for an enum rule."""
    return "must be one of {" + ", ".join(values) + "}."


def get_obj(parent: dict, key: str, path: str, *, required: bool = True) -> dict | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise RuleBroken(missing(path))
        return None
    if not isinstance(value, dict):
        raise RuleBroken(bad_parameter(f"Param {path} must be a JSON object."))
    return value


def need_obj(parent: dict, key: str, path: str) -> dict:
    value = get_obj(parent, key, path)
    assert value is not None
    return value


def get_list(parent: dict, key: str, path: str) -> list:
    value = parent.get(key)
    if value is None:
        raise RuleBroken(missing(path))
    if not isinstance(value, list):
        raise RuleBroken(bad_parameter(f"Param {path} must be an array."))
    return value


def get_str(parent: dict, key: str, path: str, *, max_len: int | None = None,
            min_len: int = 1, required: bool = True) -> str | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise RuleBroken(missing(path))
        return None
    if not isinstance(value, str):
        raise RuleBroken(bad_parameter(f"Param {path} must be a string."))
    if len(value) < min_len:
        raise RuleBroken(invalid(path, f"must be at least {min_len} characters long."))
    if max_len is not None and len(value) > max_len:
        raise RuleBroken(invalid(path, f"must be at most {max_len} characters long."))
    return value


def need_str(parent: dict, key: str, path: str, *, max_len: int | None = None,
             min_len: int = 1) -> str:
    value = get_str(parent, key, path, max_len=max_len, min_len=min_len)
    assert value is not None
    return value


def check_media(media: dict, path: str, kind: str) -> None:
    """A media object: exactly one of `link`/`id`; caption only where §7 allows one."""
    has_link, has_id = media.get("link") is not None, media.get("id") is not None
    if not has_link and not has_id:
        raise RuleBroken(missing(f"{path}.link or {path}.id"))
    if has_link and has_id:
        raise RuleBroken(invalid(path, "must contain either link or id, not both."))
    key = "link" if has_link else "id"
    need_str(media, key, f"{path}.{key}")
    if "caption" in media:
        if kind not in _CAPTIONED:
            raise RuleBroken(invalid(f"{path}.caption", f"is not supported for {kind} media."))
        get_str(media, "caption", f"{path}.caption", max_len=limits.MEDIA_CAPTION_MAX, min_len=0)
    get_str(media, "filename", f"{path}.filename", required=False)
