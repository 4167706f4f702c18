"""The simulator as a server: Graph API answers, status webhooks, faults, control API flows."""

from __future__ import annotations

import asyncio
import logging

from connectors.whatsapp.simulator.testing import (
    AUTH,
    PNID,
    SECRET,
    Bot,
    buttons_to,
    running,
    text_to,
)
from connectors.whatsapp.simulator.webhooks import sign

USER = "393331234567"
MESSAGES = f"/v23.0/{PNID}/messages"


async def _open_window(base: str, session, user: str = USER) -> dict:
    async with session.post(f"{base}/_sim/users/{user}/send", json={"text": "ciao"}) as r:
        assert r.status == 200
        return await r.json()


async def test_missing_and_wrong_bearer_token_answer_401() -> None:
    async with running() as (base, _, session):
        async with session.post(base + MESSAGES, json=text_to(USER)) as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == 0
        async with session.post(base + MESSAGES, json=text_to(USER),
                                headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401
            error = (await r.json())["error"]
            assert error["code"] == 190 and error["type"] == "OAuthException"


async def test_invalid_body_answers_meta_shaped_400() -> None:
    async with running() as (base, _, session):
        async with session.post(base + MESSAGES, json=text_to(USER, "x" * 4097),
                                headers=AUTH) as r:
            assert r.status == 400
            error = (await r.json())["error"]
        assert error["message"] == "(#131009) Parameter value is not valid"
        assert error["error_data"]["messaging_product"] == "whatsapp"
        assert "text.body" in error["error_data"]["details"]
        assert error["fbtrace_id"]
        async with session.post(base + MESSAGES, data=b"{not json", headers=AUTH) as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == 100
        async with session.post(f"{base}/v23.0/999/messages", json=text_to(USER),
                                headers=AUTH) as r:
            assert r.status == 400
            assert (await r.json())["error"]["error_subcode"] == 33
        async with session.get(base + "/_sim/stats") as r:
            assert (await r.json())["rejected"] == {"100": 2, "131009": 1}


async def test_accepted_message_gets_signed_statuses_in_order() -> None:
    async with running() as (base, bot, session):
        await _open_window(base, session)
        async with session.post(base + MESSAGES, json=text_to("+39 333 123 4567"),
                                headers=AUTH) as r:
            assert r.status == 200
            answer = await r.json()
        assert answer["messaging_product"] == "whatsapp"
        assert answer["contacts"] == [{"input": "+39 333 123 4567", "wa_id": USER}]
        wamid = answer["messages"][0]["id"]
        assert wamid.startswith("wamid.")
        await bot.wait_for(4)  # inbound + sent, delivered, read
        assert bot.statuses() == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
        for raw, header in bot.received:
            assert header == sign(SECRET, raw)
        status_value = bot.bodies()[1]["entry"][0]["changes"][0]["value"]
        assert status_value["statuses"][0]["recipient_id"] == USER
        assert "contacts" not in status_value  # phone recipients: no contacts on statuses


async def test_outside_24h_window_fails_with_131047_after_200() -> None:
    async with running() as (base, bot, session):
        await _open_window(base, session)
        async with session.post(f"{base}/_sim/users/{USER}/age_window", json={"hours": 25}) as r:
            assert (await r.json())["window_open"] is False
        async with session.post(base + MESSAGES, json=text_to(USER), headers=AUTH) as r:
            assert r.status == 200
            wamid = (await r.json())["messages"][0]["id"]
        await bot.wait_for(2)
        failed = bot.bodies()[1]["entry"][0]["changes"][0]["value"]["statuses"][0]
        assert (failed["id"], failed["status"]) == (wamid, "failed")
        assert failed["errors"][0]["code"] == 131047
        assert failed["errors"][0]["message"] == failed["errors"][0]["title"]
        template = {"messaging_product": "whatsapp", "to": USER, "type": "template",
                    "template": {"name": "reengage", "language": {"code": "en"}}}
        async with session.post(base + MESSAGES, json=template, headers=AUTH) as r:
            assert r.status == 200
        async with session.get(f"{base}/_sim/users/{USER}/messages",
                               params={"after": 1, "wait": 3, "status": "read"}) as r:
            assert [m["status"] for m in (await r.json())["messages"]] == ["read"]


async def test_unknown_recipient_fails_131026_when_configured() -> None:
    async with running(fail_unknown_recipients=True) as (base, bot, session):
        async with session.post(base + MESSAGES, json=text_to("15550001111"), headers=AUTH) as r:
            assert r.status == 200
        await bot.wait_for(1)
        assert bot.bodies()[0]["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0][
            "code"] == 131026


async def test_graph_faults_429_with_retry_after_then_success() -> None:
    async with running() as (base, _, session):
        await _open_window(base, session)
        spec = {"faults": [{"kind": "graph_error", "status": 429, "count": 2, "retry_after": 3},
                           {"kind": "graph_error", "status": 503}]}
        async with session.post(f"{base}/_sim/faults", json=spec) as r:
            assert (await r.json())["pending"]["graph_errors"] == 3
        seen = []
        for _ in range(4):
            async with session.post(base + MESSAGES, json=text_to(USER), headers=AUTH) as r:
                body = await r.json()
                seen.append((r.status, body.get("error", {}).get("code"),
                             r.headers.get("Retry-After")))
        assert seen == [(429, 130429, "3"), (429, 130429, "3"), (503, 131016, None),
                        (200, None, None)]


async def test_slow_answer_and_throughput_limit() -> None:
    async with running(messages_per_second=2) as (base, _, session):
        await _open_window(base, session)
        await session.post(f"{base}/_sim/faults", json={"kind": "slow", "delay": 0.3})
        loop = asyncio.get_running_loop()
        start = loop.time()
        codes = []
        for _ in range(3):
            async with session.post(base + MESSAGES, json=text_to(USER), headers=AUTH) as r:
                codes.append((r.status, (await r.json()).get("error", {}).get("code")))
        assert loop.time() - start >= 0.3
        assert codes == [(200, None), (200, None), (400, 130429)]


async def test_pair_rate_limit_131056() -> None:
    async with running(pair_rate_limit=2) as (base, _, session):
        await _open_window(base, session)
        codes = []
        for _ in range(3):
            async with session.post(base + MESSAGES, json=text_to(USER), headers=AUTH) as r:
                codes.append((await r.json()).get("error", {}).get("code"))
        assert codes == [None, None, 131056]


async def test_duplicate_delivery_and_reordered_statuses() -> None:
    async with running() as (base, bot, session):
        await session.post(f"{base}/_sim/faults", json=[
            {"kind": "duplicate_webhooks", "count": 1}, {"kind": "reorder_statuses"}])
        sent = await _open_window(base, session)
        await bot.wait_for(2)
        assert bot.received[0] == bot.received[1]  # the same bytes, the same signature
        assert bot.bodies()[0]["entry"][0]["changes"][0]["value"]["messages"][0]["id"] == sent[
            "message_id"]
        async with session.post(base + MESSAGES, json=text_to(USER), headers=AUTH) as r:
            wamid = (await r.json())["messages"][0]["id"]
        await bot.wait_for(5)
        assert [s for i, s in bot.statuses() if i == wamid] == ["sent", "read", "delivered"]


async def test_bot_answering_500_gets_redelivery_with_backoff() -> None:
    bot = Bot(answers=[500, 503])
    async with running(bot) as (base, bot, session):
        await session.post(f"{base}/_sim/faults", json={"kind": "webhook_retry", "attempts": 4,
                                                        "base_delay": 0.05})
        sent = await _open_window(base, session)
        assert sent["webhook_status"] == 500
        await bot.wait_for(3)
        assert len({raw for raw, _ in bot.received}) == 1
        async with session.get(f"{base}/_sim/stats") as r:
            webhooks = (await r.json())["webhooks"]
        assert webhooks["answers"] == {"200": 1, "500": 1, "503": 1}
        assert webhooks["retries"] == 2


async def test_button_tap_quotes_the_bot_message_and_long_poll() -> None:
    async with running() as (base, bot, session):
        await _open_window(base, session)
        poll = asyncio.ensure_future(session.get(f"{base}/_sim/users/{USER}/messages",
                                                 params={"after": 0, "wait": 5}))
        await asyncio.sleep(0.05)
        async with session.post(base + MESSAGES, json=buttons_to(USER), headers=AUTH) as r:
            wamid = (await r.json())["messages"][0]["id"]
        response = await poll
        listing = await response.json()
        assert listing["next"] == 1 and listing["messages"][0]["id"] == wamid
        async with session.post(f"{base}/_sim/users/{USER}/send",
                                json={"button_reply": {"id": "/deny", "title": "No"}}) as r:
            assert (await r.json())["webhook_status"] == 200
        inbound = [b for b in bot.bodies()
                   if "messages" in b["entry"][0]["changes"][0]["value"]][-1]
        message = inbound["entry"][0]["changes"][0]["value"]["messages"][0]
        assert message["context"] == {"from": "15550783881", "id": wamid}
        assert message["interactive"]["button_reply"] == {"id": "/deny", "title": "No"}


async def test_send_can_wait_for_the_bots_reply_in_the_same_round_trip() -> None:
    async with running() as (base, bot, session):
        await _open_window(base, session)
        turn = asyncio.ensure_future(session.post(f"{base}/_sim/users/{USER}/send",
                                                  json={"text": "hi", "wait_reply": 5}))
        await bot.wait_for(2)  # the window's message, then this one: now the bot answers
        async with session.post(base + MESSAGES, json=text_to(USER, "hello"), headers=AUTH) as r:
            wamid = (await r.json())["messages"][0]["id"]
        answer = await (await turn).json()
        assert answer["webhook_status"] == 200
        assert [m["id"] for m in answer["replies"]["messages"]] == [wamid]
        assert answer["replies"]["next"] == 1
        # Nothing more comes: the wait ends empty-handed at its limit.
        async with session.post(f"{base}/_sim/users/{USER}/send",
                                json={"text": "again", "wait_reply": 0.1}) as r:
            assert (await r.json())["replies"]["messages"] == []


async def test_a_wait_that_is_not_a_number_is_refused_before_anything_is_sent() -> None:
    async with running() as (base, bot, session):
        for wait in ("soon", None, [1], True):
            async with session.post(f"{base}/_sim/users/{USER}/send",
                                    json={"text": "hi", "wait_reply": wait}) as r:
                assert r.status == 400
                assert (await r.json())["error"].startswith("wait_reply:")
        assert bot.bodies() == []


async def test_bsuid_only_user_and_send_by_recipient() -> None:
    async with running() as (base, bot, session):
        bsuid = "US.13491208655302741918"
        await _open_window(base, session, bsuid)
        value = bot.bodies()[0]["entry"][0]["changes"][0]["value"]
        assert "from" not in value["messages"][0]
        assert value["messages"][0]["from_user_id"] == bsuid
        assert value["contacts"][0]["user_id"] == bsuid and "wa_id" not in value["contacts"][0]
        body = text_to(bsuid)
        body["recipient"] = body.pop("to")
        async with session.post(base + MESSAGES, json=body, headers=AUTH) as r:
            assert (await r.json())["contacts"] == [{"input": bsuid, "user_id": bsuid}]
        await bot.wait_for(2)
        status_value = bot.bodies()[1]["entry"][0]["changes"][0]["value"]
        assert status_value["statuses"][0]["recipient_user_id"] == bsuid
        assert status_value["contacts"][0]["user_id"] == bsuid


async def test_media_roundtrip_and_mark_as_read() -> None:
    async with running() as (base, bot, session):
        async with session.post(f"{base}/_sim/users/{USER}/send",
                                json={"type": "image", "caption": "receipt"}) as r:
            sent = await r.json()
        image = bot.bodies()[0]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
        async with session.get(f"{base}/v23.0/{image['id']}", headers=AUTH) as r:
            info = await r.json()
        assert info["mime_type"] == "image/jpeg" and info["sha256"] == image["sha256"]
        async with session.get(info["url"]) as r:
            assert r.status == 401
        async with session.get(info["url"], headers=AUTH) as r:
            assert r.status == 200 and len(await r.read()) == int(info["file_size"])
        read = {"messaging_product": "whatsapp", "status": "read",
                "message_id": sent["message_id"], "typing_indicator": {"type": "text"}}
        async with session.post(base + MESSAGES, json=read, headers=AUTH) as r:
            assert await r.json() == {"success": True}
        async with session.get(f"{base}/_sim/users/{USER}/messages") as r:
            assert (await r.json())["marked_read"] == [sent["message_id"]]


async def test_deliver_raw_and_reset_and_health() -> None:
    async with running() as (base, bot, session):
        async with session.get(f"{base}/_sim/health") as r:
            assert await r.json() == {"status": "ok", "callback_configured": True}
        raw = '{"object":"whatsapp_business_account","entry":[],"note":"caff\u00e8"}'
        async with session.post(f"{base}/_sim/deliver",
                                json={"raw": raw, "signature": "bad"}) as r:
            assert (await r.json())["webhook_status"] == 200
        assert bot.received[0][0] == raw.encode()
        assert bot.received[0][1] != sign(SECRET, raw.encode())
        async with session.post(f"{base}/_sim/faults", json={"kind": "nope"}) as r:
            assert r.status == 400 and "kind" in (await r.json())["error"]
        async with session.post(f"{base}/_sim/reset") as r:
            assert r.status == 200
        async with session.get(f"{base}/_sim/stats") as r:
            assert (await r.json())["webhooks"]["delivered"] == 0


async def test_no_callback_answers_409() -> None:
    async with running(callback_url=None) as (base, _, session):
        async with session.post(f"{base}/_sim/users/{USER}/send", json={"text": "hi"}) as r:
            assert r.status == 409


async def test_logs_carry_no_numbers_or_texts(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="connectors.whatsapp.simulator")
    async with running(bot=Bot(answers=[500])) as (base, bot, session):
        await session.post(f"{base}/_sim/users/{USER}/send", json={"text": "secret words"})
        await session.post(base + MESSAGES, json=text_to(USER, "private reply"), headers=AUTH)
        await session.post(base + MESSAGES, json=text_to(USER, "x" * 5000), headers=AUTH)
        await bot.wait_for(3)
    assert caplog.records  # something was logged: counts and codes
    for needle in (USER, "secret words", "private reply", "xxxxx"):
        assert needle not in caplog.text


async def test_config_points_at_a_late_bot_and_rejects_unknown_settings() -> None:
    async with running() as (base, bot, session):
        async with session.get(f"{base}/_sim/config") as r:
            callback = (await r.json())["callback_url"]
        await session.post(f"{base}/_sim/config", json={"callback_url": None})
        async with session.post(f"{base}/_sim/users/{USER}/send", json={"text": "hi"}) as r:
            assert r.status == 409
        async with session.post(f"{base}/_sim/config",
                                json={"callback_url": callback, "read_receipts": False}) as r:
            settings = await r.json()
        assert settings["read_receipts"] is False and "app_secret" not in settings
        await _open_window(base, session)
        async with session.post(base + MESSAGES, json=text_to(USER), headers=AUTH) as r:
            wamid = (await r.json())["messages"][0]["id"]
        await bot.wait_for(3)
        assert [s for i, s in bot.statuses() if i == wamid] == ["sent", "delivered"]
        async with session.post(f"{base}/_sim/config", json={"access_token": "x"}) as r:
            assert r.status == 400 and "unknown settings" in (await r.json())["error"]
        async with session.post(f"{base}/_sim/config", json={"status_delay": -1}) as r:
            assert r.status == 400 and "status_delay" in (await r.json())["error"]
