"""WhatsAppConfig.from_credentials: defaults, env fallback, and one named error per bad value."""

from __future__ import annotations

import copy

import pytest

from connectors.whatsapp import limits
from connectors.whatsapp.config import WhatsAppConfig, WhatsAppConfigError
from connectors.whatsapp.secrets import Secret

APP_SECRET = "s3cr3t-app-value-abcdef"
VERIFY = "verify-token-value-xyz"
ACCESS = "EAAGaccess-token-value-999"
BASE = {
    "app_secret": APP_SECRET,
    "verify_token": VERIFY,
    "access_token": ACCESS,
    "phone_number_id": "106540352242922",
}
ENV = {
    "WHATSAPP_APP_SECRET": "env-" + APP_SECRET,
    "WHATSAPP_VERIFY_TOKEN": "env-" + VERIFY,
    "WHATSAPP_ACCESS_TOKEN": "env-" + ACCESS,
    "WHATSAPP_PHONE_NUMBER_ID": "123456",
    "WHATSAPP_API_VERSION": "v24.0",
    "WHATSAPP_API_BASE_URL": "http://127.0.0.1:5055/",
}


def test_defaults():
    config = WhatsAppConfig.from_credentials(BASE, {})
    assert config.app_secret.reveal() == APP_SECRET
    assert config.api_version == "v23.0"
    assert config.api_base_url == "https://graph.facebook.com"
    assert config.max_body_bytes == limits.WEBHOOK_BODY_MAX_BYTES
    assert config.messages_per_second == 80.0
    assert config.download_media is False
    assert config.unsupported_reply is None
    assert config.messages_url == "https://graph.facebook.com/v23.0/106540352242922/messages"


def test_everything_from_environment():
    config = WhatsAppConfig.from_credentials(None, ENV)
    assert config.verify_token.reveal() == "env-" + VERIFY
    assert config.phone_number_id == "123456"
    assert config.api_version == "v24.0"
    assert config.api_base_url == "http://127.0.0.1:5055"  # trailing slash dropped


def test_credentials_win_over_environment_and_empty_falls_back():
    creds = dict(BASE, access_token="")
    config = WhatsAppConfig.from_credentials(creds, ENV)
    assert config.app_secret.reveal() == APP_SECRET
    assert config.access_token.reveal() == "env-" + ACCESS


def test_all_options():
    creds = dict(BASE, max_body_bytes="4194304", messages_per_second=20, download_media="true",
                 unsupported_reply="Sorry, I can only read text.", request_timeout_seconds=2.5)
    config = WhatsAppConfig.from_credentials(creds, {})
    assert (config.max_body_bytes, config.messages_per_second) == (4194304, 20.0)
    assert config.download_media is True
    assert WhatsAppConfig.from_credentials(BASE, {}).media_max_bytes == 16 * 1024 * 1024
    assert WhatsAppConfig.from_credentials(BASE, {}).webhook_processes == 1
    no_workers = WhatsAppConfig.from_credentials({**BASE, "webhook_processes": 0}, {})
    assert no_workers.webhook_processes == 0
    assert WhatsAppConfig.from_credentials({**BASE, "media_max_bytes": "5242880"}, {}) \
        .media_max_bytes == 5 * 1024 * 1024
    assert config.unsupported_reply.startswith("Sorry")
    assert config.request_timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("creds", "environ", "expected"),
    [
        ({}, {}, False),
        ({}, {"WHATSAPP_PIN_CORES": "true"}, True),
        ({"pin_cores": True}, {}, True),
        ({"pin_cores": "off"}, {"WHATSAPP_PIN_CORES": "true"}, False),
        ({"pin_cores": ""}, {"WHATSAPP_PIN_CORES": "no"}, False),
    ],
    ids=["off by default", "from the environment", "YAML true", "the file wins", "empty: env"],
)
def test_pinning_cores_is_declined_unless_asked(creds, environ, expected):
    assert WhatsAppConfig.from_credentials({**BASE, **creds}, environ).pin_cores is expected


def test_the_webhook_front_is_off_unless_a_port_is_set():
    plain = WhatsAppConfig.from_credentials(BASE, {})
    assert (plain.webhook_port, plain.webhook_host) == (None, "0.0.0.0")
    front = WhatsAppConfig.from_credentials(
        BASE, {"WHATSAPP_WEBHOOK_PORT": "5006", "WHATSAPP_WEBHOOK_HOST": "127.0.0.1"}
    )
    assert (front.webhook_port, front.webhook_host) == (5006, "127.0.0.1")


def test_repr_and_str_hide_secrets():
    config = WhatsAppConfig.from_credentials(BASE, {})
    shown = repr(config) + str(config) + repr(config.app_secret) + str(config.access_token)
    for value in (APP_SECRET, VERIFY, ACCESS):
        assert value not in shown
    assert repr(config.app_secret) == "Secret('**********')"


def test_config_is_frozen_and_copyable():
    config = WhatsAppConfig.from_credentials(BASE, {})
    with pytest.raises(AttributeError):
        config.api_version = "v1.0"  # type: ignore[misc]
    assert copy.deepcopy(config) == config


def test_secret_is_not_picklable():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


def _error(creds, env=None) -> WhatsAppConfigError:
    with pytest.raises(WhatsAppConfigError) as info:
        WhatsAppConfig.from_credentials(creds, env or {})
    return info.value


@pytest.mark.parametrize(
    ("change", "key", "rule"),
    [
        ({"app_secret": None}, "app_secret", "required"),
        ({"verify_token": None}, "verify_token", "required"),
        ({"access_token": None}, "access_token", "required"),
        ({"phone_number_id": None}, "phone_number_id", "required"),
        ({"app_secret": APP_SECRET + "\n"}, "app_secret", "whitespace"),
        ({"access_token": 12345}, "access_token", "must be a string"),
        ({"phone_number_id": "PHONE_NUMBER_ID"}, "phone_number_id", "numeric"),
        ({"api_version": "23.0"}, "api_version", "v23.0"),
        ({"api_version": "v23.1"}, "api_version", "v23.0"),
        ({"api_version": "v023.0"}, "api_version", "v23.0"),
        ({"api_base_url": "ftp://graph.facebook.com"}, "api_base_url", "http(s)"),
        ({"api_base_url": "graph.facebook.com"}, "api_base_url", "http(s)"),
        ({"api_base_url": "https://user:pw@graph.facebook.com"}, "api_base_url", "credentials"),
        ({"api_base_url": "https://graph.facebook.com?x=1"}, "api_base_url", "query"),
        ({"api_base_url": "https://host:99999"}, "api_base_url", "http(s)"),
        ({"max_body_bytes": 3}, "max_body_bytes", "between"),
        ({"max_body_bytes": "3MB"}, "max_body_bytes", "between"),
        ({"max_body_bytes": True}, "max_body_bytes", "between"),
        ({"messages_per_second": 0}, "messages_per_second", "above 0"),
        ({"messages_per_second": 5000}, "messages_per_second", "at most 1000"),
        ({"messages_per_second": "fast"}, "messages_per_second", "number"),
        ({"messages_per_second": "nan"}, "messages_per_second", "number"),
        ({"download_media": "maybe"}, "download_media", "true or false"),
        ({"pin_cores": "sometimes"}, "pin_cores", "true or false"),
        ({"pin_cores": 2}, "pin_cores", "true or false"),
        ({"media_max_bytes": 16}, "media_max_bytes", "between 1024"),
        ({"media_max_bytes": "16MB"}, "media_max_bytes", "between"),
        ({"media_max_bytes": 101 * 1024 * 1024}, "media_max_bytes", "104857600"),
        ({"webhook_processes": 9}, "webhook_processes", "between 0 and 8"),
        ({"webhook_processes": -1}, "webhook_processes", "between 0 and 8"),
        ({"webhook_processes": "two"}, "webhook_processes", "between 0 and 8"),
        ({"webhook_port": 0}, "webhook_port", "between 1 and 65535"),
        ({"webhook_port": 70000}, "webhook_port", "between 1 and 65535"),
        ({"webhook_port": "http"}, "webhook_port", "between 1 and 65535"),
        ({"webhook_host": "127.0.0.1:5006"}, "webhook_host", "no port"),
        ({"webhook_host": "http://example.org"}, "webhook_host", "host name"),
        ({"unsupported_reply": "   "}, "unsupported_reply", "non-empty"),
        ({"unsupported_reply": "x" * 4097}, "unsupported_reply", "4096"),
        ({"verify_tokn": "x"}, "verify_tokn", "unknown key"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_values_name_the_key_and_rule(change, key, rule):
    creds = {**BASE, **change}
    creds = {k: v for k, v in creds.items() if v is not None}
    err = _error(creds)
    assert err.key == key
    assert f"'{key}'" in str(err)
    assert rule in str(err)


@pytest.mark.parametrize("key", ["app_secret", "verify_token", "access_token"])
def test_secret_values_never_echoed(key):
    bad = " leaked-secret-value "
    err = _error(dict(BASE, **{key: bad}))
    assert "leaked-secret-value" not in str(err) and "leaked-secret-value" not in repr(err)


def test_misplaced_secret_in_other_key_not_echoed():
    err = _error(dict(BASE, api_base_url=APP_SECRET, phone_number_id="1"))
    assert APP_SECRET not in str(err)


def test_missing_names_the_environment_variable():
    err = _error({k: v for k, v in BASE.items() if k != "app_secret"})
    assert "WHATSAPP_APP_SECRET" in str(err)


def test_channel_block_must_be_a_mapping():
    with pytest.raises(WhatsAppConfigError):
        WhatsAppConfig.from_credentials(["app_secret"], {})  # type: ignore[arg-type]
