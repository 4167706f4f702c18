"""`pacing_redis_url`: validated at start-up by name, never echoed, and it picks the pacer."""

from __future__ import annotations

import logging
import os

import pytest

from connectors.whatsapp.config import WhatsAppConfig, WhatsAppConfigError
from connectors.whatsapp.graph_clients import pacer_for
from connectors.whatsapp.pacing import Pacer
from connectors.whatsapp.pacing_redis import RedisPacer

BASE = {
    "app_secret": "app-secret-value",
    "verify_token": "verify-token-value",
    "access_token": "EAAG-access-token",
    "phone_number_id": "106540352242922",
    "messages_per_second": 40,
}
PASSWORD = "hunter2-redis-password"


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://cache",
        f"redis://:{PASSWORD}@cache.internal:6380/2",
        "rediss://cache.example.com:6380/0?ssl_cert_reqs=required",
        "unix:///run/redis/redis.sock?db=1",
    ],
)
def test_valid_urls_are_kept_as_secrets(url: str) -> None:
    config = WhatsAppConfig.from_credentials({**BASE, "pacing_redis_url": url}, {})
    assert config.pacing_redis_url is not None and config.pacing_redis_url.reveal() == url
    assert PASSWORD not in repr(config)


def test_absent_means_in_process_pacing() -> None:
    config = WhatsAppConfig.from_credentials(BASE, {})
    assert config.pacing_redis_url is None
    pacer = pacer_for(config, str)
    assert isinstance(pacer, Pacer) and pacer.rate_per_second == 40


def test_environment_variable_fills_an_absent_key() -> None:
    env = {"WHATSAPP_PACING_REDIS_URL": "redis://127.0.0.1:1/0"}
    config = WhatsAppConfig.from_credentials(BASE, env)
    pacer = pacer_for(config, str)
    assert isinstance(pacer, RedisPacer) and pacer.rate_per_second == 40


def test_start_up_with_redis_reachable_logs_no_warning(caplog) -> None:
    url = os.environ.get("SIGILLO_TEST_REDIS_URL")
    if not url:
        pytest.skip("SIGILLO_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    config = WhatsAppConfig.from_credentials({**BASE, "pacing_redis_url": url}, {})
    with caplog.at_level(logging.INFO):
        assert isinstance(pacer_for(config, str), RedisPacer)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "whatsapp.pacing.redis_ready" in caplog.text


def test_start_up_with_redis_unreachable_warns_once_and_still_starts(caplog) -> None:
    """The design keeps sending without Redis (paced locally), so the start is not refused:
    the operator learns it from one WARNING line at start-up, with neither URL nor password."""
    url = f"redis://:{PASSWORD}@127.0.0.1:1/0"  # a closed port
    config = WhatsAppConfig.from_credentials({**BASE, "pacing_redis_url": url}, {})
    with caplog.at_level(logging.INFO):
        pacer = pacer_for(config, str)
    assert isinstance(pacer, RedisPacer)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("whatsapp.pacing.redis_unavailable at=start ")
    assert "fallback_rate=40 instances=1" in warnings[0]
    assert PASSWORD not in caplog.text and "127.0.0.1" not in caplog.text


BAD = [
    ("http scheme", "http://cache:6379"),
    ("no scheme", "cache:6379"),
    ("no host", "redis://"),
    ("port out of range", "redis://cache:99999/0"),
    ("database not a number", "redis://cache:6379/sessions"),
    ("unix without path", "unix://"),
    ("surrounding whitespace", " redis://cache "),
    ("not a string", 6379),
    ("password in a bad url", f"redis//:{PASSWORD}@cache"),
    # Options redis-py would refuse only when the first send connects.
    ("unknown option", "redis://cache:6379/0?sockt_timeout=1"),
    ("option not a number", "redis://cache:6379/0?socket_timeout=soon"),
    ("database option not a number", "redis://cache?db=sessions"),
    ("TLS option without TLS", "redis://cache:6379/0?ssl_cert_reqs=required"),
    ("unknown TLS requirement", "rediss://cache:6380/0?ssl_cert_reqs=maybe"),
    ("password with a bad option", f"redis://:{PASSWORD}@cache/0?db={PASSWORD}"),
]


@pytest.mark.parametrize(("label", "url"), BAD, ids=[label for label, _ in BAD])
def test_invalid_urls_fail_at_start_up_naming_the_key(label: str, url: object) -> None:
    with pytest.raises(WhatsAppConfigError) as info:
        WhatsAppConfig.from_credentials({**BASE, "pacing_redis_url": url}, {})
    assert info.value.key == "pacing_redis_url"
    message = str(info.value)
    assert "'pacing_redis_url'" in message and "WHATSAPP_PACING_REDIS_URL" in message
    assert PASSWORD not in message


@pytest.mark.parametrize(
    "credentials",
    [
        f"sigillo-nobody:{PASSWORD}@",  # WRONGPASS: no such ACL user
        f":{PASSWORD}@",  # a password the server does not have (or a wrong one)
    ],
)
def test_start_up_with_credentials_redis_refuses_fails_naming_the_setting(credentials) -> None:
    """Not an outage to ride out on local pacing: a setting to fix, named, without its value."""
    url = os.environ.get("SIGILLO_TEST_REDIS_URL")
    if not url:
        pytest.skip("SIGILLO_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    scheme, _, rest = url.partition("://")
    wrong = f"{scheme}://{credentials}{rest.rpartition('@')[2]}"
    config = WhatsAppConfig.from_credentials({**BASE, "pacing_redis_url": wrong}, {})
    with pytest.raises(WhatsAppConfigError, match="refused the URL's user or password") as info:
        pacer_for(config, str)
    assert info.value.key == "pacing_redis_url"
    assert PASSWORD not in str(info.value) and "sigillo-nobody" not in str(info.value)
