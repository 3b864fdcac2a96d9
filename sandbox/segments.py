"""How many SMS segments a body costs, by the GSM 03.38 and UCS-2 rules carriers apply."""

from __future__ import annotations

from collections.abc import Sequence

# The GSM 03.38 default alphabet, minus the escape code that introduces the extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through the escape code, so each costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


def is_gsm7(body: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body)


def count_segments(body: str) -> int:
    if is_gsm7(body):
        septets = [2 if char in GSM7_EXTENSION else 1 for char in body]
        return _pack(septets, GSM7_SINGLE, GSM7_MULTI)
    # UCS-2 as phones really send it is UTF-16: characters beyond the BMP take two units.
    units = [len(char.encode("utf-16-le")) // 2 for char in body]
    return _pack(units, UCS2_SINGLE, UCS2_MULTI)


def _pack(sizes: Sequence[int], single: int, multi: int) -> int:
    """Fill segments in order; an escape pair or surrogate pair is never split across two."""
    if sum(sizes) <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return segments
