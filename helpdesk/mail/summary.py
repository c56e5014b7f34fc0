"""What `helpdesk mail import` says when it ends: how many messages went which way, and which tickets it opened
(the numbers an operator looks up next), shortened when an archive opened thousands."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from helpdesk.mail.intake import Outcome
from helpdesk.mail.models import OutcomeKind

#: Ticket numbers listed in full; beyond them the line says how many more, and the last one.
SHOWN_TICKETS = 20


@dataclass
class ImportSummary:
    """The running tally of an import's outcomes."""

    counts: Counter[str] = field(default_factory=Counter)
    new_tickets: list[int] = field(default_factory=list)

    def add(self, outcomes: Iterable[Outcome]) -> None:
        """Count ``outcomes`` in."""
        for outcome in outcomes:
            self.counts[outcome.kind] += 1
            self.counts["reused"] += outcome.is_message_id_reused
            if outcome.kind == OutcomeKind.NEW_TICKET and outcome.ticket_id is not None:
                self.new_tickets.append(outcome.ticket_id)

    def counts_line(self) -> str:
        """"40 messages: 37 new tickets, …": where each message went."""
        counts = self.counts
        total = sum(counts[kind] for kind in ("new_ticket", "follow_up", "filtered", "quarantined", "duplicate"))
        return (f"{total} messages: {counts['new_ticket']} new tickets, {counts['follow_up']} follow-ups, "
                f"{counts['filtered']} filtered, {counts['quarantined']} quarantined, "
                f"{counts['duplicate']} already had; {counts['reused']} reused a Message-ID another message had "
                "(taken as messages of their own).")

    def tickets_line(self) -> str:
        """"new tickets: #12, #13." (empty when none was opened)."""
        return ticket_list(self.new_tickets)


def ticket_list(ticket_ids: list[int], shown: int = SHOWN_TICKETS) -> str:
    """"new tickets: #1, #2, #3." or, past ``shown`` of them, "new tickets: #1, … #20 and 980 more, up to #1000.";
    in the order they were opened."""
    if not ticket_ids:
        return ""
    listed = ", ".join(f"#{number}" for number in ticket_ids[:shown])
    rest = len(ticket_ids) - shown
    if rest <= 0:
        return f"new tickets: {listed}."
    return f"new tickets: {listed} and {rest} more, up to #{max(ticket_ids)}."
