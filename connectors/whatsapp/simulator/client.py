"""A small synchronous client of the simulator's control API, for tests, benchmarks and scripts.

It plays the WhatsApp users: `send` makes a user send something (the simulator signs and
delivers the webhook to the bot), `replies` long-polls what the bot sent that user.
"""

from __future__ import annotations

from typing import Any

import httpx


class SimulatorClient:
    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SimulatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(f"simulator answered {response.status_code}: {response.text}")
        return response.json()

    def send(self, user: str, **spec: Any) -> dict[str, Any]:
        """`send(user, text="hi")`, `send(user, button_reply={"id": .., "title": ..})`, ..."""
        return self._ok(self._http.post(f"/_sim/users/{user}/send", json=spec))

    def messages(
        self, user: str, after: int = 0, wait: float = 0.0, status: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"after": after, "wait": wait}
        if status:
            params["status"] = status
        return self._ok(self._http.get(f"/_sim/users/{user}/messages", params=params))

    def replies(self, user: str, after: int, count: int = 1, wait: float = 30.0) -> list[dict]:
        """At least `count` bot messages after index `after` (waiting up to `wait` seconds)."""
        import time

        deadline = time.monotonic() + wait
        while True:
            got = self.messages(user, after=after, wait=max(0.1, deadline - time.monotonic()))
            if len(got["messages"]) >= count or time.monotonic() >= deadline:
                return got["messages"]

    def next_index(self, user: str) -> int:
        return int(self.messages(user)["next"])

    def faults(self, *specs: dict[str, Any]) -> None:
        self._ok(self._http.post("/_sim/faults", json=list(specs)))

    def stats(self) -> dict[str, Any]:
        return self._ok(self._http.get("/_sim/stats"))

    def configure(self, **settings: Any) -> dict[str, Any]:
        return self._ok(self._http.post("/_sim/config", json=settings))

    def deliver(self, **spec: Any) -> dict[str, Any]:
        return self._ok(self._http.post("/_sim/deliver", json=spec))


def text_of(message: dict[str, Any]) -> str:
    """The visible text of a bot message body (text, interactive body or template name)."""
    body = message.get("body", message)
    kind = body.get("type")
    if kind == "text":
        return str(body["text"]["body"])
    if kind == "interactive":
        return str(body["interactive"]["body"]["text"])
    if kind == "template":
        return f"[template {body['template']['name']}]"
    return f"[{kind}]"
