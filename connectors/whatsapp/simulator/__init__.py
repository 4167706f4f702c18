"""A local stand-in for Meta's WhatsApp Cloud API, used by tests, benchmarks and `make run`.

Start it: `python -m connectors.whatsapp.simulator --port 5300 --callback
http://127.0.0.1:5005/webhooks/whatsapp/webhook` (loopback only; see config.py for every option
and its environment variable). Point the bot's WHATSAPP_API_BASE_URL at `http://127.0.0.1:5300`
and use the same WHATSAPP_APP_SECRET / WHATSAPP_ACCESS_TOKEN / WHATSAPP_PHONE_NUMBER_ID.

Graph API (as Meta, whatsapp-cloud-api.md §6, §7, §9):
    POST   /{version}/{phone_number_id}/messages   send or mark as read (bearer token)
    GET    /{version}/{media_id}                   media URL JSON
    DELETE /{version}/{media_id}
    POST   /{version}/{phone_number_id}/media      multipart upload → {"id"}
    GET    /media/{media_id}?ext=…&hash=…          download (bearer token); the URL from the
                                                   media URL JSON, valid 5 minutes (media_url_ttl)

Control API (tests, chat tool):
    GET  /_sim/health                    {"status": "ok", "callback_configured": bool}
    GET|POST /_sim/config                runtime settings (callback_url, status_delay, ...)
    POST /_sim/users/{user}/send         user action (user_actions.py) → {"message_id",
                                         "webhook_status", "timestamp", "next"}; with
                                         "wait_reply": S also "replies", the bot's messages
                                         from then on as `messages` gives them, long-polled
    GET  /_sim/users/{user}/messages?after=N&wait=S[&status=read]
                                         → {"messages": [{"index", "id", "type", "body",
                                         "status", "statuses", "errors"}], "next", ...}
    POST /_sim/users/{user}/age_window   {"hours": 25}
    POST /_sim/users/{user}/preferences  {"value": "stop" | "resume"}
    GET|POST /_sim/faults                fault specs (faults.py)
    POST /_sim/deliver                   {"body": {...}} | {"raw": "..."}, "duplicate", "signature"
    GET  /_sim/stats                     counts and codes
    POST /_sim/reset

For pytest: `connectors.whatsapp.simulator.testing` has `serve(**SimConfig fields)` (simulator
alone, yields its base URL) and `running()` (simulator + a recording stub bot).
"""

from __future__ import annotations

from connectors.whatsapp.simulator.app import Simulator, build_app
from connectors.whatsapp.simulator.config import SimConfig, SimConfigError
from connectors.whatsapp.simulator.errors import ValidationError
from connectors.whatsapp.simulator.rules import validate_send
from connectors.whatsapp.simulator.webhooks import sign

__all__ = [
    "SimConfig",
    "SimConfigError",
    "Simulator",
    "ValidationError",
    "build_app",
    "sign",
    "validate_send",
]
