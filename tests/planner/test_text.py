"""planner.text: the normalised form rules and titles are compared in, and outside text made
safe to show. Property-tested: the same normalisation for rules and titles."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from planner.rules import word_hit
from planner.text import MAX_LINE, normalise, shown, shown_block

# Letters whose upper and lower case map onto each other (not Turkish dotless i and the like).
words = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éøß",
    min_size=1,
    max_size=8,
)
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u00ad"]
BREAKS = ["\r", "\n", "\u2028", "\u2029", "\x85", "\x00", "\t", "\x1b"]
UNSAFE = set("".join(INVISIBLE + BREAKS))


@given(st.text(max_size=60))
def test_normalise_is_idempotent(s: str) -> None:
    assert normalise(normalise(s)) == normalise(s)


@given(st.text(max_size=60))
def test_normalised_text_has_no_controls_marks_or_runs_of_spaces(s: str) -> None:
    n = normalise(s)
    assert all(unicodedata.category(c) not in ("Cc", "Cf", "Mn", "Zl", "Zp") for c in n)
    assert "  " not in n and n == n.strip()


@given(st.lists(words, min_size=1, max_size=3), st.sampled_from(INVISIBLE + BREAKS + [" "]))
def test_a_phrase_matches_whatever_separates_its_words(parts: list[str], sep: str) -> None:
    phrase = " ".join(parts)
    if not normalise(phrase):
        return
    assert word_hit([phrase], "x " + sep.join(parts) + " y") == phrase


@given(words)
def test_case_and_accents_do_not_matter_on_either_side(w: str) -> None:
    accented = unicodedata.normalize("NFC", "".join(c + "\u0301" for c in w))
    assert word_hit([w.upper()], f"about {accented} today") == w.upper()
    assert word_hit([accented], f"about {w.lower()} today") == accented


def test_the_issues_examples() -> None:
    assert word_hit(["comite"], "Comité de direction") == "comite"
    assert word_hit(["what's new"], "What’s new in Q3") == "what's new"
    assert word_hit(["all hands"], "All\u200bhands") == "all hands"
    assert word_hit(["all hands"], "all\u202ehands") == "all hands"
    assert word_hit(["q3 - q4"], "Q3 — Q4 plan") == "q3 - q4"
    assert word_hit(["desk"], "Deskside chat") is None


@given(st.text(max_size=400))
def test_shown_is_one_safe_line_of_bounded_length(s: str) -> None:
    out = shown(s)
    assert not UNSAFE & set(out)
    assert all(unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") for c in out)
    assert len(out) <= MAX_LINE


@given(st.text(max_size=400))
def test_shown_block_keeps_line_breaks_and_nothing_else_unsafe(s: str) -> None:
    out = shown_block(s)
    assert all(c == "\n" or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") for c in out)


def test_shown_removes_header_injection_and_reversal() -> None:
    assert shown("Lunch\r\nBcc: everyone@acme.com") == "Lunch Bcc: everyone@acme.com"
    assert shown("invoice\u202egpj.exe") == "invoicegpj.exe"
    assert shown("x" * 500).endswith("…") and len(shown("x" * 500)) == MAX_LINE
