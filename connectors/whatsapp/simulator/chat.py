"""Chat with the bot as a WhatsApp user, through the simulator and the real webhook path.

`python -m connectors.whatsapp.simulator.chat --sim http://127.0.0.1:5300 --user 393331234567`
(or `make chat`). Each line you type goes to the simulator's control API, which signs and POSTs
a webhook to the bot; the bot's Graph API calls come back here and are printed. Buttons print as
"[1] Yes  [2] No" and list rows as numbered lines; typing the number sends a real
`button_reply` / `list_reply`, so the interactive path is exercised. Works with piped stdin.
Commands: /quit, /help, /image [caption], /voice, /sticker, /document, /location LAT LON,
/stop and /resume (marketing preference), /age HOURS (age the 24-hour window).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import IO

import httpx

HELP = __doc__.split("Commands:")[1].strip() if __doc__ else ""


@dataclass(frozen=True)
class Choice:
    """One numbered option and the control-API request that taps it."""

    title: str
    request: dict


def render(body: dict) -> tuple[list[str], list[Choice]]:
    """A Graph send body as terminal lines, plus the options it offers. [pure]"""
    mtype = body.get("type", "text")
    content = body.get(mtype) or {}
    if mtype == "text":
        return [content.get("body", "")], []
    if mtype == "interactive":
        return _render_interactive(content)
    if mtype in ("image", "video", "document", "audio", "sticker"):
        label = content.get("caption") or content.get("filename") or ""
        return [f"[{mtype}] {label}".rstrip()], []
    if mtype == "location":
        return [f"[location] {content.get('name', '')} "
                f"({content.get('latitude')}, {content.get('longitude')})"], []
    if mtype == "contacts":
        names = ", ".join(c.get("name", {}).get("formatted_name", "?") for c in body["contacts"])
        return [f"[contact] {names}"], []
    if mtype == "reaction":
        return [f"[reacted {content.get('emoji') or '(removed)'}]"], []
    if mtype == "template":
        return _render_template(content)
    return [f"[{mtype}]"], []


def _render_interactive(inter: dict) -> tuple[list[str], list[Choice]]:
    lines = []
    header = inter.get("header") or {}
    if header.get("type") == "text":
        lines.append(f"*{header.get('text', '')}*")
    elif header:
        lines.append(f"[{header.get('type')}]")
    lines.append((inter.get("body") or {}).get("text", ""))
    if inter.get("footer"):
        lines.append(f"_{inter['footer'].get('text', '')}_")
    action = inter.get("action") or {}
    choices: list[Choice] = []
    if inter.get("type") == "button":
        for button in action.get("buttons", []):
            reply = button.get("reply", {})
            choices.append(Choice(reply.get("title", ""), {"button_reply": {
                "id": reply.get("id", ""), "title": reply.get("title", "")}}))
        lines.append("  ".join(f"[{i}] {c.title}" for i, c in enumerate(choices, 1)))
    elif inter.get("type") == "list":
        lines.append(f"({action.get('button', 'Options')})")
        for section in action.get("sections", []):
            if section.get("title"):
                lines.append(f"  {section['title']}")
            for row in section.get("rows", []):
                reply = {k: row[k] for k in ("id", "title", "description") if k in row}
                choices.append(Choice(row.get("title", ""), {"list_reply": reply}))
                desc = f" - {row['description']}" if row.get("description") else ""
                lines.append(f"  [{len(choices)}] {row.get('title', '')}{desc}")
    elif inter.get("type") == "cta_url":
        params = action.get("parameters", {})
        lines.append(f"[link] {params.get('display_text', '')}: {params.get('url', '')}")
    return lines, choices


def _render_template(tpl: dict) -> tuple[list[str], list[Choice]]:
    params, choices = [], []
    for comp in tpl.get("components", []):
        for param in comp.get("parameters", []):
            if comp.get("type") == "button" and param.get("type") == "payload":
                payload = param["payload"]
                choices.append(Choice(payload, {"button": {"payload": payload, "text": payload}}))
            elif param.get("type") == "text":
                params.append(param["text"])
    lines = [f"[template {tpl.get('name')} ({(tpl.get('language') or {}).get('code')})] "
             + ", ".join(params)]
    if choices:
        lines.append("  ".join(f"[{i}] {c.title}" for i, c in enumerate(choices, 1)))
    return lines, choices


def command_request(line: str, choices: list[Choice]) -> dict | str | None:
    """What a typed line does: a control request, a path-suffix command, or None to quit."""
    if line in ("/quit", "/exit"):
        return None
    if line.isdigit() and 1 <= int(line) <= len(choices):
        return choices[int(line) - 1].request
    word, _, rest = line.partition(" ")
    if word in ("/image", "/document", "/sticker", "/video"):
        spec: dict = {"type": word[1:]}
        if rest and word != "/sticker":
            spec["caption"] = rest
        return spec
    if word == "/voice":
        return {"type": "audio", "voice": True}
    if word == "/location":
        parts = rest.split()
        lat, lon = (parts + ["45.4642", "9.19"][len(parts):])[:2]
        return {"type": "location", "latitude": float(lat), "longitude": float(lon)}
    if word in ("/stop", "/resume", "/age", "/help"):
        return line
    return {"text": line}


class ChatSession:
    """The terminal side: send, then long-poll for the bot's replies until it goes quiet."""

    def __init__(self, sim: str, user: str, out: IO[str], reply_timeout: float = 15.0,
                 settle: float = 1.0) -> None:
        self.client = httpx.Client(base_url=sim.rstrip("/"), timeout=reply_timeout + 10)
        self.user, self.out = user, out
        self.reply_timeout, self.settle = reply_timeout, settle
        self.choices: list[Choice] = []
        self.after = self._poll(0.0)["next"]  # do not replay earlier conversations

    def _poll(self, wait: float) -> dict:
        response = self.client.get(f"/_sim/users/{self.user}/messages",
                                   params={"after": getattr(self, "after", 0), "wait": wait})
        response.raise_for_status()
        return response.json()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def handle(self, line: str) -> bool:
        """Process one typed line; False when the user quits."""
        try:
            request = command_request(line, self.choices)
        except ValueError:
            self.say("(could not read that command; /help lists them)")
            return True
        if request is None:
            return False
        if isinstance(request, str):
            return self._command(request)
        response = self.client.post(f"/_sim/users/{self.user}/send", json=request)
        if response.status_code != 200:
            self.say(f"(simulator: {response.json().get('error', response.status_code)})")
            return True
        status = response.json()["webhook_status"]
        if not 200 <= status < 300:
            self.say(f"(the bot answered HTTP {status}; the simulator will redeliver)")
        self.show_replies()
        return True

    def _command(self, line: str) -> bool:
        word, _, rest = line.partition(" ")
        if word == "/help":
            self.say(HELP)
        elif word in ("/stop", "/resume"):
            self.client.post(f"/_sim/users/{self.user}/preferences", json={"value": word[1:]})
            self.say(f"(marketing messages: {word[1:]})")
            self.show_replies(self.settle)
        elif word == "/age":
            hours = float(rest or "25")
            self.client.post(f"/_sim/users/{self.user}/age_window", json={"hours": hours})
            self.say(f"(your last message is now {hours:g} h old)")
        return True

    def show_replies(self, first_wait: float | None = None) -> None:
        wait = self.reply_timeout if first_wait is None else first_wait
        batch: list[dict] = []
        while True:
            listing = self._poll(wait)
            if listing["next"] <= self.after:
                break
            batch += listing["messages"]
            self.after = listing["next"]
            wait = self.settle
        if not batch and first_wait is None:
            self.say("(no reply)")
        choices: list[Choice] = []
        for message in batch:
            lines, choices = render(message["body"])
            for text in lines:
                self.say(f"bot> {text}")
            if message["status"] == "failed":
                codes = ", ".join(str(e.get("code")) for e in message["errors"])
                self.say(f"(not delivered: {codes})")
        self.choices = choices


def run(sim: str, user: str, stdin: IO[str], out: IO[str], **kwargs: float) -> int:
    try:
        session = ChatSession(sim, user, out, **kwargs)
    except httpx.HTTPError:
        print(f"chat: the simulator at {sim} does not answer; start it with "
              "`python -m connectors.whatsapp.simulator`", file=sys.stderr)
        return 1
    interactive = stdin.isatty()
    session.say(f"Chatting as {user} through {sim}. /help for commands, /quit to leave.")
    while True:
        if interactive:
            print("you> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        if line.strip() and not session.handle(line.strip()):
            return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.whatsapp.simulator.chat")
    parser.add_argument("--sim", default=os.environ.get("SIGILLO_SIM_URL", "http://127.0.0.1:5300"))
    parser.add_argument("--user", default=os.environ.get("SIGILLO_CHAT_USER", "393331234567"),
                        help="phone number (digits) or business-scoped user id")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a reply")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="quiet seconds after which a reply is complete")
    args = parser.parse_args(argv)
    return run(args.sim, args.user, sys.stdin, sys.stdout, reply_timeout=args.timeout,
               settle=args.settle)


if __name__ == "__main__":
    sys.exit(main())
