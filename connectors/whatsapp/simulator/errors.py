"""Meta's Graph API errors as the simulator answers them: one catalog, one body builder.

Source: whatsapp-cloud-api.md §6 (code table with HTTP status per code, and the sync error body
`{"error": {"message": "(#code) title", "type": "OAuthException", "code", "error_data":
{"messaging_product", "details"}, "fbtrace_id"}}`) and §5 (the `errors[]` of a failed status:
`{code, title, message, error_data.details, href}` with message == title).
"""

from __future__ import annotations

from dataclasses import dataclass

# §5: failed statuses link the error-code page.
ERROR_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"

# code -> (title, HTTP status), from the §6 table.
CATALOG: dict[int, tuple[str, int]] = {
    0: ("AuthException", 401),
    100: ("Invalid parameter", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", 401),
    130429: ("Rate limit hit", 400),
    131000: ("Something went wrong", 500),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 503),
    131026: ("Message undeliverable", 400),
    131047: ("Re-engagement message", 400),
    131051: ("Unsupported message type", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
}

DEFAULT_DETAILS: dict[int, str] = {
    130429: "Cloud API message throughput has been reached.",
    131000: "An unknown error occurred.",
    131016: "A service is temporarily unavailable.",
    131026: "Message Undeliverable.",
    131047: (
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number."
    ),
    131056: (
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time."
    ),
}


@dataclass(frozen=True)
class ValidationError:
    """One Graph API error: the code says what a client does next (§6); details name the field."""

    code: int
    details: str
    http_status: int = 400
    title: str = ""
    subcode: int | None = None
    error_type: str = "OAuthException"

    def message(self) -> str:
        # §6: "message is '(#code) title'"; Graph's token errors (190) carry the bare title.
        title = self.title or CATALOG.get(self.code, ("Error", 400))[0]
        return title if self.code == 190 else f"(#{self.code}) {title}"

    def to_body(self, fbtrace_id: str) -> dict:
        """The synchronous error body Meta answers with (§6)."""
        error: dict = {"message": self.message(), "type": self.error_type, "code": self.code}
        if self.code not in (0, 190) and self.error_type == "OAuthException":
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}

    def to_status_error(self) -> dict:
        """The `errors[]` item of a failed status webhook (§5: message == title)."""
        title = self.title or CATALOG.get(self.code, ("Error", 400))[0]
        return {
            "code": self.code,
            "title": title,
            "message": title,
            "error_data": {"details": self.details},
            "href": ERROR_HREF,
        }


def meta_error(code: int, details: str | None = None, *, http_status: int | None = None,
               subcode: int | None = None) -> ValidationError:
    """A catalogued error; HTTP status and title come from the §6 table unless overridden."""
    title, status = CATALOG.get(code, ("Error", 400))
    return ValidationError(
        code=code,
        details=details if details is not None else DEFAULT_DETAILS.get(code, title),
        http_status=http_status if http_status is not None else status,
        title=title,
        subcode=subcode,
    )


def missing(field: str) -> ValidationError:
    """131008: a required parameter is absent; details name it (§6)."""
    return meta_error(131008, f"The parameter {field} is required.")


def invalid(field: str, rule: str) -> ValidationError:
    """131009: a value breaks a documented rule; details name the field and the rule (§6)."""
    return meta_error(131009, f"Param {field} {rule}")


def bad_parameter(details: str) -> ValidationError:
    """100: malformed body, wrong JSON type or unknown enum value (§6)."""
    return meta_error(100, details)


def unknown_object(object_id: str, method: str = "post") -> ValidationError:
    """Graph's answer for an id that does not exist here (§6: code 100, subcode 33)."""
    return ValidationError(
        code=100,
        details="",
        title=(
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation."
        ),
        subcode=33,
        error_type="GraphMethodException",
    )


def throttled() -> ValidationError:
    """130429 with Meta's documented subcode (fixture metadocs__error-130429-block1)."""
    return meta_error(130429, subcode=2494055)


def auth_error(token_present: bool) -> ValidationError:
    """401: 0 when no bearer token was sent, 190 when it does not match (§6)."""
    if not token_present:
        return meta_error(0, "An access token is required to request this resource.")
    return meta_error(190, "The access token could not be decrypted.")
