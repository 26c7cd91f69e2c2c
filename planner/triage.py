"""Meeting triage: which invitations to decline, delegate, flag or keep, and why.

Safety comes first: one wrongly declined meeting with the CEO or a customer is worse than ten
flagged ones. The decision for one invitation:

1. **Propose.** The first matching rule with an `action` (planner.rules) proposes keep, flag,
   decline or delegate. A `keep` is final, unless the rule names its `category` itself: then
   the hour budget of that category still applies. An invitation no rule decides, whose
   category (planner.classify) is `non_sales` or `account_management` and that would push its
   week over `triage.budgets.*`, is proposed for a flag with the figures (`budget:<category>`).
2. **Cap.** Protections and `at_most` rules limit the proposal; the strictest that matches
   wins (keep before flag), wherever the rule sits in the list. Protections, checked and named
   in this order (`PROTECTION_ORDER`): the manager organizes it (or it has no organizer); the
   manager accepted it; answered tentative; the boss organizes it; leadership organizes it;
   the organizer is on `triage.never_decline`; the boss is invited; a guest is on
   `never_decline`; a guest comes from a customer domain. Each is `keep` by default (never
   declined or flagged); `triage.protect.<which>: flag` lowers it to "at most flag". A capped
   decision names both: `rule` (what proposed) and `cap` (what limited it). A protected
   meeting that nothing would act on passes silently.
3. **Mode.** `triage.mode: flag` turns a decline/delegate into a Flag ("would decline (mode:
   flag)"), and past `triage.max_declines_per_tick` declines in one tick the rest become Flags
   that say the cap was reached. `delegate_to: rep_among_guests` hands the meeting to the
   first rep of the team on its guest list (a Flag when there is none).
4. **Clash.** An accepted or pending invitation that overlaps a coaching block and is otherwise
   left alone is flagged with rule `conflict:coaching` (the coaching planner reports its own
   side). This is a report about a clash, not a triage verdict, so it applies to protected
   meetings too; it never answers the invitation.

An invitation with no matching rule and nothing to report gets no action at all, so a rule
added later still applies to it. Every other outcome is an action, which the executor records
as a Decision with the policy's hash (`policy_hash`); an invitation whose Decision has the
same fingerprint is not decided again, and one whose time or title changed is. When the
policy changes, a future invitation that was flagged or kept and that the manager has not
answered is decided once more under the new policy; the new decision names the old one
(`was`), so the digest can say what changed. A recurring series is decided once, on its first
upcoming occurrence (the backend answers for the whole series), under a series fingerprint
made of its uid, title, local start time and length.

Emails: on the local backend a Decline also yields a `decline_reply` to the organizer (Google
notifies the organizer itself); a delegation yields a `delegate` email with the meeting's
details to the delegate on every backend. Keys are `<kind>:<event_id>:<fingerprint hash>`,
so each is sent once per version of the invitation. Their samples are in planner/samples/.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from planner.actions import Action, Decline, Flag, Keep
from planner.classify import classify
from planner.model import Decision, Event, Snapshot
from planner.policy import REP_AMONG_GUESTS, Level, Policy
from planner.rules import (
    MatchContext,
    RuleMatch,
    first_match,
    guests,
    matching_caps,
)
from planner.timeutil import Interval, week_monday
from planner.triage_checks import (
    _Budgets,
    _conflict,
    protection,
    protections,
)
from planner.triage_emails import (
    delegate_context,
    emails_for_decline,
    reply_context,
    reply_imip,
)
from planner.triage_inputs import (
    BUDGETED,
    PROTECTION_ORDER,
    Invitation,
    Protection,
    _organized_by_manager,
    email_key,
    invitations,
    series_fingerprint,
)

__all__ = [
    "BUDGETED",
    "MANAGER_POLICY",
    "PROTECTION_ORDER",
    "Invitation",
    "Protection",
    "decide_one",
    "delegate_context",
    "email_key",
    "emails_for_decline",
    "invitations",
    "plan_triage",
    "policy_hash",
    "protection",
    "protections",
    "rep_among_guests",
    "reply_context",
    "reply_imip",
    "series_fingerprint",
]

log = logging.getLogger(__name__)


def policy_hash(policy: Policy) -> str:
    """What triage decisions depend on: the triage section, the boss and the team. A change
    in it re-decides the future invitations the manager has not answered (once)."""
    basis = {
        "triage": policy.triage.model_dump(mode="json", exclude={"max_declines_per_tick"}),
        "boss": policy.manager.boss,
        "team": sorted(r.email for r in policy.team),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


def _previous(decisions: Iterable[Decision]) -> dict[tuple[str, str], Decision]:
    """Decisions taken before by (event_id, fingerprint); series also by ("*", fingerprint)."""
    out: dict[tuple[str, str], Decision] = {}
    for d in decisions:
        out[(d.event_id, d.fingerprint)] = d
        if d.fingerprint.startswith("series:"):
            out[("*", d.fingerprint)] = d
    return out


def _earlier(inv: Invitation, before: dict[tuple[str, str], Decision]) -> Decision | None:
    if inv.fingerprint.startswith("series:"):
        return before.get(("*", inv.fingerprint))
    return before.get((inv.event.id, inv.fingerprint))


def _redecide(d: Decision, inv: Invitation, current: str) -> bool:
    """Whether a policy change re-decides this invitation: decided under another policy
    (decisions from before policies were recorded, and the manager's own answers by reply,
    never are), by a flag or keep (a decline is an answer), and still unanswered."""
    if not d.policy or d.policy in (current, MANAGER_POLICY):
        return False
    return d.action in ("flag", "keep") and inv.event.self_status == "needsAction"


# The `policy` of a decision the manager took by replying to the digest: never re-decided.
MANAGER_POLICY = "manager"


def plan_triage(
    policy: Policy, snapshot: Snapshot, now: datetime, coaching: Sequence[Interval]
) -> list[Action]:
    """Decline, Flag and Keep actions (plus reply/delegate emails) for this tick's invitations.

    `coaching` holds the coaching blocks that exist or are being booked this tick. Actions come
    in the order of the invitations' start times. See the module docstring for the rules.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # The manager's replies to the digest come first, and the invitations they answer are not
    # decided by the rules this tick. (Imported here: planner.replies builds on this module.)
    from planner.replies import plan_replies

    actions: list[Action] = plan_replies(policy, snapshot, now) if snapshot.replies else []
    answered = {a.event_id for a in actions if isinstance(a, Decline | Keep)}
    for inv, action in _decide_all(policy, snapshot, now, coaching):
        if answered & {e.id for e in inv.members}:
            continue
        if isinstance(action, Decline):
            actions.append(action)
            actions.extend(emails_for_decline(policy, inv, action))
        elif action is not None:
            actions.append(action)
        if action is not None:
            log.debug("triage %s %r: %s", type(action).__name__, inv.event.title, action.reason)
    return actions


def _decide_all(
    policy: Policy,
    snapshot: Snapshot,
    now: datetime,
    coaching: Sequence[Interval],
    also: str | None = None,
) -> list[tuple[Invitation, Decline | Flag | Keep | None]]:
    """Every invitation this tick decides, in start order, with its decision. `also` (an
    event id) adds that event's invitation even if it was decided before (for explain)."""
    ctx = MatchContext.build(policy, coaching)
    current = policy_hash(policy)
    before = _previous(snapshot.decisions.values())
    upcoming: list[tuple[Invitation, bool, Decision | None]] = []
    for inv in invitations(policy, snapshot.events, now):
        earlier = _earlier(inv, before)
        if earlier is None or _redecide(earlier, inv, current):
            upcoming.append((inv, True, earlier))
        else:
            upcoming.append((inv, also is not None and also in {e.id for e in inv.members}, None))
    todo = [inv for inv, deciding, _ in upcoming if deciding]
    if not todo:
        return []
    tz = policy.manager.tz
    # Budgets count every upcoming invitation at its place in time, decided before or not, so
    # an invitation left undecided is judged the same way on every tick (history-independent).
    budgets = _Budgets.build(
        policy,
        ctx,
        snapshot.events,
        deciding={e.id for i, _, _ in upcoming for e in i.members},
        weeks={week_monday(i.event.start.astimezone(tz).date()) for i in todo},
    )
    out: list[tuple[Invitation, Decline | Flag | Keep | None]] = []
    declines = 0
    for inv, deciding, earlier in upcoming:
        if not deciding:
            category, _ = classify(policy, inv.event, ctx)
            budgets.add(inv, category)
            continue
        action = _decide(policy, inv, ctx, budgets, declines)
        if earlier is not None:
            action = _replacing(action, inv, earlier)
        if action is not None:
            action = replace(action, policy=current)
        if isinstance(action, Decline):
            declines += 1
        else:
            category, _ = classify(policy, inv.event, ctx)
            budgets.add(inv, category)
        out.append((inv, action))
    return out


def decide_one(
    policy: Policy, snapshot: Snapshot, now: datetime, coaching: Sequence[Interval], event: Event
) -> tuple[Invitation | None, Decline | Flag | Keep | None]:
    """What triage decides for the invitation holding `event` if this tick decided it (for
    `coachd explain`), even when it was decided before: the invitation (None when triage does
    not look at the event) and the decision."""
    for inv, action in _decide_all(policy, snapshot, now, coaching, also=event.id):
        if event.id in {e.id for e in inv.members}:
            return inv, action
    return None, None


def _replacing(
    action: Decline | Flag | Keep | None, inv: Invitation, earlier: Decision
) -> Decline | Flag | Keep:
    """The new decision for an invitation a policy change re-decides, naming the old one.

    When nothing applies any more the result is a Keep, so the new policy is recorded and the
    invitation is not decided again."""
    was = f"{earlier.action}:{earlier.rule}"
    if action is None:
        action = _keep(inv, "no-rule", "no rule or budget applies under the new policy")
    return replace(action, was=was)


def _strictest_cap(
    guard: Protection | None, caps: Sequence[RuleMatch]
) -> tuple[Level, str, str] | None:
    """(level, name, sentence) of the strictest cap: keep beats flag; on a tie the
    protection first, then the rules in the order written."""
    found: list[tuple[Level, str, str]] = []
    if guard is not None:
        found.append((guard.level, guard.rule, guard.reason))
    for c in caps:
        level = c.rule.at_most or "flag"
        found.append((level, c.rule.name, f"at most {level}: {c.describe()}"))
    keeps = [f for f in found if f[0] == "keep"]
    return (keeps or found)[0] if found else None


def _decide(
    policy: Policy, inv: Invitation, ctx: MatchContext, budgets: _Budgets, declines: int
) -> Decline | Flag | Keep | None:
    """One invitation: what the first deciding rule (or a budget) proposes, limited by the
    strictest cap, then by flag mode and the per-tick decline cap."""
    event = inv.event
    rules = policy.triage.rules
    found = first_match(rules, event, ctx)
    category, _ = classify(policy, event, ctx)
    clash = _conflict(inv, ctx, policy)
    cap = _strictest_cap(protection(policy, event, ctx), matching_caps(rules, event, ctx))
    proposed, by, why = _propose(inv, found, category, budgets)

    invited = not _organized_by_manager(event, ctx.manager_email)
    if cap is not None and cap[0] == "keep":
        return _under_keep_cap(inv, cap, clash if invited else None, proposed, by, why)

    if proposed in ("decline", "delegate") and found is not None:
        if cap is not None:  # at most flag
            _, name, limit = cap
            verb = "delegate" if proposed == "delegate" else "decline"
            if name.startswith("protected:"):
                limit = f"at most flagged because {limit} (triage.protect)"
            return _flag(inv, by, _with(f"would {verb}: {why}; {limit}", clash), cap=name)
        return _decline_or_flag(policy, inv, found, declines, clash)
    if proposed == "flag":
        return _flag(inv, by, _with(why, clash))
    if clash:
        kept = f"{why} (action: keep)" if found else "no triage rule matched"
        return _flag(inv, "conflict:coaching", f"{clash}; {kept}")
    if proposed == "keep":
        return _keep(inv, by, why)
    return None


def _propose(
    inv: Invitation, found: RuleMatch | None, category: str, budgets: _Budgets
) -> tuple[str | None, str, str]:
    """(proposed action, by whom, why) from the rules and budgets, before any cap.

    A deciding rule's decline/delegate/flag wins; else a budget the invitation would exceed
    (when no rule matched, or a budgeted keep rule did) proposes a flag; else a keep rule
    proposes keep; else nothing is proposed (None, "", "").
    """
    action = found.rule.action if found is not None else None
    excess = None
    if action is None or (action == "keep" and found is not None and found.rule.budgeted):
        excess = budgets.excess(inv, category)
    if found is not None and action in ("decline", "delegate", "flag"):
        return action, found.rule.name, found.describe()
    if excess:
        why = excess if found is None else f"{found.describe()} (action: keep); {excess}"
        return "flag", f"budget:{category}", why
    if found is not None:
        return "keep", found.rule.name, found.describe()
    return None, "", ""


def _under_keep_cap(
    inv: Invitation,
    cap: tuple[Level, str, str],
    clash: str | None,
    proposed: str | None,
    by: str,
    why: str,
) -> Flag | Keep | None:
    """The decision when the strictest cap is `keep`: a coaching clash on an invitation
    (`clash` is None for the manager's own meetings) is flagged, a proposed action is turned
    into a Keep saying what it would have been, and nothing proposed passes silently."""
    _, name, limit = cap
    if clash:
        return _flag(inv, "conflict:coaching", f"{clash}; not declined: {limit}", cap=name)
    if proposed in ("decline", "delegate", "flag"):
        budget = by.startswith("budget:")
        would = f"it would be flagged: {why}" if budget else f"{why} (action: {proposed})"
        if name.startswith("protected:"):
            said = f"protected: {limit}; {would}, but a protected meeting is never declined "
            said += "or flagged"
        else:
            said = f"{limit}; {would}, but this rule keeps it"
        return _keep(inv, by, said, cap=name)
    return None  # a protected meeting nothing would act on passes silently


def _with(reason: str, clash: str | None) -> str:
    return f"{reason}; it also {clash}" if clash else reason


def rep_among_guests(policy: Policy, event: Event) -> str | None:
    """The first rep of the team on the guest list (in the invitation's order), or None."""
    team = {r.email for r in policy.team}
    return next((p for p in guests(event) if p in team), None)


def _decline_or_flag(
    policy: Policy, inv: Invitation, found: RuleMatch, declines: int, clash: str | None
) -> Decline | Flag:
    rule = found.rule
    verb = "delegate" if rule.action == "delegate" else "decline"
    why = found.describe()
    delegate = None
    if rule.action == "delegate":
        delegate = rule.delegate_to
        if delegate == REP_AMONG_GUESTS:
            delegate = rep_among_guests(policy, inv.event)
            if delegate is None:
                return _flag(
                    inv,
                    rule.name,
                    _with(f"would delegate: {why}; but no rep of the team is a guest", clash),
                )
            why += f"; delegate to {delegate} (the rep among the guests)"
        else:
            why += f"; delegate to {delegate}"
    if policy.triage.mode == "flag":
        return _flag(inv, rule.name, _with(f"would {verb} (mode: flag): {why}", clash))
    cap = policy.triage.max_declines_per_tick
    if declines >= cap:
        return _flag(
            inv,
            rule.name,
            f"would {verb}: {why}; but the cap of {cap} declines per tick "
            "(triage.max_declines_per_tick) was reached, so it is left for you to answer",
        )
    e = inv.event
    return Decline(
        event_id=e.id,
        fingerprint=inv.fingerprint,
        title=e.title,
        organizer=e.organizer or "",
        start=e.start,
        rule=rule.name,
        message=rule.message,
        reason=why + (" (the whole series)" if e.recurring else ""),
        delegate_to=delegate,
    )


def _flag(inv: Invitation, rule: str, reason: str, cap: str | None = None) -> Flag:
    e = inv.event
    return Flag(e.id, inv.fingerprint, e.title, e.organizer or "", e.start, rule, reason, cap)


def _keep(inv: Invitation, rule: str, reason: str, cap: str | None = None) -> Keep:
    e = inv.event
    return Keep(e.id, inv.fingerprint, e.title, e.organizer or "", e.start, rule, reason, cap)
