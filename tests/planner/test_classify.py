"""classify(): every route, in order, and nothing guessed silently."""

from __future__ import annotations

from typing import Any

import pytest
from factories import coachd_tag, make_event, make_policy

from planner.classify import classify
from planner.policy import Policy
from planner.rules import MatchContext


def policy(**triage: Any) -> Policy:
    return make_policy(
        {
            "triage": {
                "customer_domains": ["bigbuyer.com"],
                "rules": [
                    {
                        "name": "recruiting",
                        "action": "keep",
                        "category": "recruiting",
                        "match": {"title": ["interview"]},
                    },
                    {"name": "facilities", "action": "decline", "match": {"title": ["desk"]}},
                ],
                **triage,
            },
            "audit": {"categories": {"personal": ["dentist"], "non_sales": ["training"]}},
        }
    )


def run(p: Policy, **kw: Any) -> tuple[str, str]:
    return classify(p, make_event(**kw), MatchContext.build(p))


def test_coachd_tag_is_coaching_with_its_kind() -> None:
    p = policy()
    # Even a title a rule would match: coachd's own bookings are coaching.
    cat, why = run(p, title="desk one-on-one", tag=coachd_tag("ride_along"))
    assert (cat, why) == ("coaching", "coachd ride_along")


def test_matching_rule_gives_its_category() -> None:
    p = policy()
    assert run(p, title="Interview: AE candidate") == (
        "recruiting",
        "rule 'recruiting' matched the title word 'interview'",
    )
    cat, why = run(p, title="Desk moves")
    assert cat == "non_sales" and "facilities" in why


def test_audit_keywords_give_their_category() -> None:
    cat, why = run(policy(), title="Dentist")
    assert cat == "personal"
    assert why == "the title word 'dentist' is listed under audit.categories.personal"


def test_rule_beats_keyword() -> None:
    # "training" is a non_sales keyword, but the recruiting rule matches first.
    assert run(policy(), title="Interview training")[0] == "recruiting"


@pytest.mark.parametrize("where", ["organizer", "guest"])
def test_customer_guest_is_account_management(where: str) -> None:
    kw: dict[str, Any] = (
        {"organizer": "buyer@eu.bigbuyer.com"}
        if where == "organizer"
        else {"guests": ["buyer@bigbuyer.com"]}
    )
    cat, why = run(policy(), title="Quarterly review", **kw)
    assert cat == "account_management"
    assert "bigbuyer.com" in why


def test_nothing_matched_is_unclassified_with_a_reason() -> None:
    cat, why = run(policy(), title="Quarterly review", guests=["someone@elsewhere.org"])
    assert cat == "unclassified"
    assert "no triage rule" in why


def test_internal_address_is_never_a_customer() -> None:
    # A customer domain written too broadly must not make internal colleagues customers.
    p = policy(customer_domains=["acme.com"])
    assert run(p, title="Quarterly review", guests=["pat@acme.com"])[0] == "unclassified"
