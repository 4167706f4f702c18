"""WhatsApp's 24-hour customer-service window, as arithmetic on injected times.

Each inbound user message opens or refreshes the window; inside it any message may be sent,
outside it only approved templates (free-form fails with 131047). Source: the project's
whatsapp-cloud-api.md section 10, from Meta's messaging-limits and pricing pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


def window_closes_at(
    last_inbound_at: datetime | None, window: timedelta = CUSTOMER_SERVICE_WINDOW
) -> datetime | None:
    """When the window opened by the last inbound message closes; None if never opened."""
    if last_inbound_at is None:
        return None
    return last_inbound_at + window


def is_window_open(
    last_inbound_at: datetime | None,
    now: datetime,
    window: timedelta = CUSTOMER_SERVICE_WINDOW,
) -> bool:
    """True while now is before last_inbound_at + window.

    The boundary itself counts as closed: Meta measures 24 hours, and a send that races the
    boundary fails with 131047, which costs more than sending a template. An inbound time in the
    future (clock skew between hosts) counts as open.
    """
    closes = window_closes_at(last_inbound_at, window)
    return closes is not None and now < closes
