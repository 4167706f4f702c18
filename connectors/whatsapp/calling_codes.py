"""The country calling code of an E.164 number, from ITU-T E.164's assigned-code list.

Rasa gets the calling code (e.g. "39") instead of the phone so the bot can pick a language without
ever seeing the number (design.md, one turn step 2). Calling codes form a prefix code — no assigned
code is a prefix of another — so the first 1-, 2- or 3-digit prefix found in the table is the
answer. Source: ITU-T "List of ITU-T Recommendation E.164 assigned country codes" (codes in use;
spare and reserved codes are left out, so an unassigned prefix returns None).
"""

from __future__ import annotations

_ONE_DIGIT = frozenset({"1", "7"})  # 1: NANP (US, CA, Caribbean); 7: RU, KZ

_TWO_DIGIT = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split()
)

_THREE_DIGIT = frozenset(
    (
        # zone 2: Africa and the North Atlantic
        "211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 "
        "236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256 "
        "257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 "
        # zone 3/4: Europe
        "350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 379 380 "
        "381 382 383 385 386 387 389 420 421 423 "
        # zone 5: Central and South America
        "500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598 599 "
        # zone 6: Oceania and South-East Asia
        "670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 "
        # zone 8: East Asia and global services
        "800 808 850 852 853 855 856 870 878 880 881 882 883 886 888 "
        # zone 9: West and Central Asia
        "960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 979 "
        "992 993 994 995 996 998"
    ).split()
)


def calling_code(e164: str | None) -> str | None:
    """"39" for "+393331234567"; None for None, a non-E.164 string or an unassigned prefix."""
    digits = e164[1:] if e164 and e164.startswith("+") else ""
    if not (digits.isascii() and digits.isdigit()):
        return None
    for size, table in ((1, _ONE_DIGIT), (2, _TWO_DIGIT), (3, _THREE_DIGIT)):
        if digits[:size] in table:
            return digits[:size]
    return None
