"""The WhatsApp channel's block of Rasa's credentials.yml, read as the Rasa server reads it.

Why: tools that talk to Meta outside the server (`python -m compliance consent optin`, which
sends the confirmation template) must use the settings the server uses. They read the same file
with Rasa's own reader (its schema check and `${VAR}` substitution), take the block under the
channel's module path, and leave the rest to `WhatsAppConfig.from_credentials`, which fills the
keys the block leaves out from the WHATSAPP_* environment, exactly as the channel does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compliance.errors import ConfigError

# The keys Rasa resolves to this channel: its class by module path (bot/credentials.yml uses the
# first; the class also lives in connectors.whatsapp.channel).
CHANNEL_KEYS = ("connectors.whatsapp.WhatsAppInput", "connectors.whatsapp.channel.WhatsAppInput")


def channel_credentials(path: Path) -> dict[str, Any] | None:
    """The channel's settings in the credentials file at `path` (None: the file names no
    WhatsApp channel, or names it without settings). A missing or malformed file is a
    ConfigError that names it."""
    if not path.is_file():
        raise ConfigError(f"--credentials: no credentials file at {path}")
    import rasa.shared.utils.io  # Rasa's reader: slow to import, so only when asked
    from rasa.shared.exceptions import RasaException

    try:
        channels = rasa.shared.utils.io.read_config_file(path)
    except (RasaException, ValueError, OSError) as exc:
        # The class only: Rasa's message may quote the file, and the file may hold secrets.
        raise ConfigError(
            f"--credentials: {path} is not a valid credentials file ({type(exc).__name__}:"
            " check its YAML and that every ${VAR} it names is set)"
        ) from None
    for key in CHANNEL_KEYS:
        block = channels.get(key)
        if block is not None:
            if not isinstance(block, dict):
                raise ConfigError(f"--credentials: the {key} block of {path} must be a mapping")
            return block
    return None
