"""The real-world corpus (../shared/corpus/mail): every message is accounted for, and our reading of
zammad's fixtures matches zammad at least as often as a plain standard-library parse does."""
import hashlib
import html
import json
import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from helpdesk.mail.parsing import parse
from helpdesk.extensions import db
from helpdesk.mail.intake import ingest
from helpdesk.mail.models import HeldMail, ReceivedMail
from helpdesk.tickets.models import Message, Ticket
from tests.conftest import SHARED

CORPUS = SHARED / "corpus" / "mail"
pytestmark = pytest.mark.skipif(not (CORPUS / "index.json").exists(),
                                reason="needs ../shared/corpus/mail (present on the project's machines and in CI)")


def index():
    return json.loads((CORPUS / "index.json").read_text())


def normal(text):
    return re.sub(r"\s+", " ", text or "").strip()


def plain(text):
    return normal(html.unescape(re.sub(r"<[^>]+>", " ", text or "")))


TRACE_HEADERS = re.compile(rb"^(received|return-path|delivered-to|x-original-to|message-id):", re.IGNORECASE)


def same_message(raw: bytes) -> bytes:
    """The message without what servers add on the way (or an empty Message-ID), line endings undone:
    two files equal here are one message (written independently of the desk's own digest)."""
    lines, in_trace = [], False
    head, _, body = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").partition(b"\n\n")
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and in_trace:
            continue
        in_trace = bool(TRACE_HEADERS.match(line)) or line.startswith(b"From ")
        if not in_trace:
            lines.append(line)
    return b"\n".join(lines) + b"\n\n" + body.rstrip()


def test_every_distinct_corpus_message_is_on_a_ticket_filtered_or_quarantined(app):
    seen: set[bytes] = set()
    outcomes, reused = Counter(), 0
    for entry in index():
        raw = (CORPUS / entry["file"]).read_bytes()
        outcome = ingest(raw, "corpus")
        outcomes[outcome.kind] += 1
        reused += outcome.is_message_id_reused
        if outcome.kind == "duplicate":  # only a copy of a message taken already
            assert same_message(raw) in seen, entry["file"]
        elif outcome.kind in ("new_ticket", "follow_up"):
            mail = parse(raw)
            ticket = db.session.get(Ticket, outcome.ticket_id)
            assert any(message.message_id == mail.message_id and normal(mail.text) in normal(message.body_text)
                       for message in ticket.messages), entry["file"]
        else:
            held = db.session.scalar(select(HeldMail).where(HeldMail.raw_sha256 == hashlib.sha256(raw).hexdigest()))
            assert held is not None and held.kind == outcome.kind, entry["file"]
        seen.add(same_message(raw))
    assert sum(outcomes.values()) == len(index()) == 881
    # 130 files reuse a Message-ID another file has: 41 are copies (the same file under two names, or with
    # other line endings), 89 are different messages, each taken and marked.
    assert outcomes["duplicate"] == 41 and reused == 89, (outcomes, reused)
    assert db.session.scalar(select(func.count(ReceivedMail.id))) == 881 - 41
    assert db.session.scalar(select(func.count(Message.id)).where(Message.is_message_id_reused)) == \
        sum(1 for row in db.session.scalars(select(ReceivedMail)) if row.is_message_id_reused and row.ticket_id)
    assert outcomes["quarantined"] == 0, "nothing in the corpus should need quarantine"


def test_bounces_and_auto_replies_are_recognised():
    wrong = []
    for entry in index():
        expected = entry["expect"].get("auto_reply")
        if expected is None:
            continue
        mail = parse((CORPUS / entry["file"]).read_bytes())
        if bool(mail.automatic) != expected:
            wrong.append(entry["file"])
    assert len(wrong) <= 8, wrong  # of the 660 with a known answer (6 today: abuse reports, list notices)


def test_zammad_fixtures_read_at_least_as_well_as_the_standard_library():
    scores = Counter()
    for entry in index():
        if entry["source"] != "zammad/zammad":
            continue
        expected = entry["expect"]
        mail = parse((CORPUS / entry["file"]).read_bytes())
        if expected.get("subject") is not None:
            scores["subject"] += normal(mail.subject) == normal(expected["subject"])
        if expected.get("from_email"):
            scores["from"] += mail.from_address == expected["from_email"].lower()
        if expected.get("body_contains"):
            snippet = normal(expected["body_contains"])
            scores["body"] += snippet in plain(mail.text) or snippet in plain(mail.html)
    # The standard library alone: subjects 110/116, senders 106/116, bodies 93/101 (corpus README).
    assert scores["subject"] >= 110 and scores["from"] >= 106 and scores["body"] >= 93, scores
    assert scores["subject"] + scores["from"] + scores["body"] > 110 + 106 + 93, scores
