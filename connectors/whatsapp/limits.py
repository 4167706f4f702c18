"""Meta's WhatsApp Cloud API limits, as named constants.

Each number comes from Meta's documentation as summarised in the project's Cloud API reference
(shared whatsapp-cloud-api.md, sections 7, 8 and 10); the page is named beside each group.
Both the outbound renderer and the local simulator read them from here, so the simulator rejects
exactly what Meta would.
"""

from __future__ import annotations

# messages/text-messages: a text body holds at most 4,096 characters.
TEXT_BODY_MAX = 4096

# messages/interactive-reply-buttons-messages
REPLY_BUTTONS_MAX = 3
REPLY_BUTTON_TITLE_MAX = 20
REPLY_BUTTON_ID_MAX = 256
INTERACTIVE_BODY_MAX = 1024
INTERACTIVE_HEADER_TEXT_MAX = 60
INTERACTIVE_FOOTER_MAX = 60

# messages/interactive-list-messages: the current page allows 4,096 in the body, older pages and
# Meta's Node SDK say 1,024; we stay at 1,024 (INTERACTIVE_BODY_MAX) to be safe.
LIST_BUTTON_LABEL_MAX = 20
LIST_SECTIONS_MAX = 10
LIST_ROWS_MAX = 10  # in total, across sections
LIST_SECTION_TITLE_MAX = 24
LIST_ROW_ID_MAX = 200
LIST_ROW_TITLE_MAX = 24
LIST_ROW_DESCRIPTION_MAX = 72

# messages/image-messages, messages/document-messages
MEDIA_CAPTION_MAX = 1024

# messages/interactive-cta-url-messages
CTA_DISPLAY_TEXT_MAX = 20

# webhooks/overview: a webhook body is at most 3 MB and batches at most 1,000 updates.
WEBHOOK_BODY_MAX_BYTES = 3 * 1024 * 1024
WEBHOOK_BATCH_MAX = 1000

# throughput: 80 messages per second per business number by default.
DEFAULT_MESSAGES_PER_SECOND = 80.0
# throughput: pair rate, about one message per 6 s to the same user; bursts allowed, then 131056.
PAIR_RATE_SECONDS = 6.0

# Customer-service window: each inbound message opens or refreshes 24 hours of free-form messaging.
CUSTOMER_SERVICE_WINDOW_SECONDS = 24 * 60 * 60

# templates/overview: a template name is lowercase letters, digits and underscores, at most 512
# characters; a template carries at most 10 buttons. Parameter text may not hold a newline, a tab
# or more than 4 consecutive spaces: Meta answers 132018 "Param text cannot have new-line/tab
# characters or more than 4 consecutive spaces" (seen by practitioners; not on the reference pages).
TEMPLATE_NAME_MAX = 512
TEMPLATE_BUTTONS_MAX = 10
TEMPLATE_PARAM_MAX_CONSECUTIVE_SPACES = 4

# business-phone-numbers/media: documents are the largest media type, at most 100 MB.
MEDIA_DOWNLOAD_MAX_BYTES = 100 * 1024 * 1024

# throughput: after 131056 (pair rate) Meta says retry after 4**X seconds, X = 0, 1, 2, ...
PAIR_RATE_BACKOFF_BASE = 4.0
