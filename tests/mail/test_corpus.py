"""The real-world corpus (../shared/corpus/mail): every message is accounted for, and our reading of
zammad's fixtures matches zammad at least as often as a plain standard-library parse does."""
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


def test_every_corpus_message_is_accounted_for(app):
    outcomes = Counter()
    entries = index()
    for entry in entries:
        outcomes[ingest((CORPUS / entry["file"]).read_bytes(), "corpus").kind] += 1
    assert sum(outcomes.values()) == len(entries) == 881
    assert set(outcomes) <= {"new_ticket", "follow_up", "filtered", "quarantined", "duplicate"}
    recorded = db.session.scalar(select(func.count(ReceivedMail.id)))
    held = db.session.scalar(select(func.count(HeldMail.id)).where(HeldMail.kind == "filtered"))
    assert recorded == len(entries) - outcomes["duplicate"]
    assert held == outcomes["filtered"]
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
