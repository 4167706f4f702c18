"""Secret's masked repr and the log filter that redacts phone numbers and BSUIDs."""

from __future__ import annotations

import logging
import pickle

import pytest

from compliance.secrets import RedactingFilter, Secret, install_log_redaction, redact

REDACT = [
    ("e164", "from +393331234567 ok", "from <phone> ok"),
    ("wa_id", "wa_id=393331234567", "wa_id=<phone>"),
    ("spaced", "call +39 333 123 4567 now", "call <phone> now"),
    ("dashed", "tel 0039-333-1234567", "tel <phone>"),
    ("bsuid", "user US.13491208655302741918 said", "user <bsuid> said"),
    ("pseudonym_kept", "subject wa_pfjewub5g4fxcffpdu7j5cedygior2og", None),
    ("short_number_kept", "retry 3 of 5 after 120 ms", None),
    ("dotted_name_kept", "module compliance.keys OK.Done", None),
]


@pytest.mark.parametrize("text,want", [c[1:] for c in REDACT], ids=[c[0] for c in REDACT])
def test_redact(text: str, want: str | None) -> None:
    assert redact(text) == (text if want is None else want)


def test_secret_is_masked_and_not_picklable() -> None:
    secret = Secret(b"super-secret-key")
    assert "super" not in repr(secret) and "super" not in str(secret) and "super" not in f"{secret}"
    assert secret.reveal() == secret.get_secret_value() == b"super-secret-key"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_filter_redacts_message_args_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("sigillo.test.redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="sigillo.test.redaction"):
        logger.info("sending to %s", "+393331234567")
        try:
            raise ValueError("bad number +393331234567")
        except ValueError:
            logger.exception("failed for %s", "US.1349120865")
    text = caplog.text
    assert "393331234567" not in text and "US.1349120865" not in text
    assert "<phone>" in text and "<bsuid>" in text


def test_install_is_idempotent() -> None:
    logger = logging.getLogger("sigillo.test.install")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        install_log_redaction(logger)
        install_log_redaction(logger)
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)
