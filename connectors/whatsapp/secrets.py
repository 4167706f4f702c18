"""A wrapper that keeps secret values out of reprs, str() and tracebacks.

Config objects get printed: in start-up logs, in pytest failure diffs, in Sanic's debug pages.
A plain `str` field would print the app secret or the access token there. `Secret` prints as
`Secret('**********')` whatever it holds, and the value is reached only through `reveal()`, so every
place that handles the real value is greppable. Modelled on Starlette's
`starlette.datastructures.Secret`.
"""

from __future__ import annotations

import hashlib
import hmac

_MASK = "**********"


class Secret:
    """A string whose value is never shown by repr() or str()."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        """The secret value; call only where the value is used (HMAC key, Authorization header)."""
        return self._value

    def as_bytes(self) -> bytes:
        """The UTF-8 bytes of the secret, e.g. as an HMAC key."""
        return self._value.encode("utf-8")

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison with a candidate string.

        Both sides are hashed first so that neither the content nor the length of the secret leaks
        through timing (hmac.compare_digest leaks the length when lengths differ).
        """
        ours = hashlib.sha256(self.as_bytes()).digest()
        theirs = hashlib.sha256(candidate.encode("utf-8", "surrogatepass")).digest()
        return hmac.compare_digest(ours, theirs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.matches(other._value)

    def __hash__(self) -> int:
        return hash((Secret, hashlib.sha256(self.as_bytes()).digest()))

    # Immutable, so copies may share the instance; pickling is refused so that a secret never ends
    # up serialized into a cache, a queue or a crash dump by accident.
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict) -> Secret:
        return self

    def __reduce__(self):
        raise TypeError("Secret values are not picklable")
