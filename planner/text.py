"""Text as coachd reads it (for matching) and as it shows it (outside text in emails).

`normalise` is the one form rules and titles are compared in: NFKC, case-folded, accents
removed, typographic quotes and dashes unified, format and control characters read as
spaces, runs of spaces collapsed. The same function is applied to a rule's words and to the
text they are matched against, so `comite` matches "Comité", `what's new` matches
"What’s new" and a zero-width space between two words is a space.

`shown` and `shown_block` make outside text (titles, names, descriptions written by other
people) safe to show: C0/C1 controls, U+2028/2029, bidi controls and other invisible format
characters are removed, and the length is capped. HTML escaping is the renderer's job
(autoescape); these functions make the text safe for the text part and for headers too.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_BLOCK", "MAX_LINE", "normalise", "shown", "shown_block", "visible"]

MAX_LINE = 200
MAX_BLOCK = 2000

# Typographic quotes, primes and dashes read as their ASCII forms.
_UNIFY = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060\u02bc", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    }
)


def _spaced(ch: str) -> bool:
    # Cc: controls (CR, LF, NUL, C1); Cf: format (ZWSP, ZWJ, bidi controls, soft hyphen, BOM);
    # Zl/Zp: U+2028/2029; Zs: every kind of space.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs")


def normalise(text: str) -> str:
    """The matching form of text (see the module docstring). Idempotent."""
    s = text
    # Removing marks can leave a form that NFKC or casefolding would still change (and the
    # other way round); a few rounds reach the fixed point for any real text.
    for _ in range(4):
        before = s
        s = unicodedata.normalize("NFKC", s).casefold()
        s = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
        s = unicodedata.normalize("NFC", s).translate(_UNIFY)
        s = " ".join("".join(" " if _spaced(c) else c for c in s).split())
        if s == before:
            break
    return s


def _visible(ch: str, keep_newlines: bool) -> str:
    if keep_newlines and ch == "\n":
        return ch
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Zl", "Zp") or ch == "\t":
        return " "
    if cat == "Cf":  # bidi controls, zero-width characters: invisible, so removed
        return ""
    return ch


def visible(text: str) -> str:
    """Text with its layout kept (line breaks, tabs, runs of spaces) and nothing invisible or
    unsafe: other controls and U+2028/2029 become spaces, format characters are removed."""
    s = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c if c in "\n\t" else _visible(c, keep_newlines=True) for c in s)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def shown(text: str | None, limit: int = MAX_LINE) -> str:
    """Outside text for one line of an email: no controls or line breaks, capped in length."""
    if not text:
        return ""
    s = "".join(_visible(c, keep_newlines=False) for c in text.replace("\r\n", "\n"))
    return _cap(" ".join(s.split()), limit)


def shown_block(text: str | None, limit: int = MAX_BLOCK) -> str:
    """Outside text for a paragraph (a description): line breaks kept, nothing else unsafe."""
    if not text:
        return ""
    s = text.replace("\r\n", "\n").replace("\r", "\n")
    s = "".join(_visible(c, keep_newlines=True) for c in s)
    lines = [" ".join(line.split()) for line in s.split("\n")]
    return _cap(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), limit)
