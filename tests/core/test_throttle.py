"""Rate limits shared by every worker: two apps on one database count as one, the allowance comes back as
time passes, a refused view answers 429 with Retry-After, and the counter never commits nor undoes the
view's own work."""
import threading
from datetime import timedelta

import pytest
from flask import request
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from helpdesk import create_app
from helpdesk.core.lease import Lease
from helpdesk.core.models import utcnow
from helpdesk.core.throttle import RateLimit, hit, rate_limited
from helpdesk.extensions import db
from tests.conftest import settings

MINUTE = timedelta(minutes=1)


@pytest.fixture
def second_worker(app, tmp_path):
    """Another app on the same database, with its own engine and connections, as a second web worker."""
    other = create_app(settings(tmp_path / "second", app.config["SQLALCHEMY_DATABASE_URI"]))
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_two_workers_share_one_limit(app, second_worker):
    now = utcnow()
    answers = []
    for number in range(8):
        worker = app if number % 2 else second_worker
        with worker.app_context():
            answers.append(hit("form:203.0.113.7", 5, MINUTE, now).allowed)
    assert answers == [True] * 5 + [False] * 3


def test_workers_hitting_at_the_same_moment_never_take_more_than_the_limit(app, second_worker):
    now, start = utcnow(), threading.Barrier(16)
    allowed, failures = [], []

    def knock(worker):
        try:
            with worker.app_context():
                start.wait()
                allowed.append(hit("form:203.0.113.7", 5, MINUTE, now).allowed)
        except Exception as error:  # noqa: BLE001 (reported below, in the test's own thread)
            failures.append(error)

    threads = [threading.Thread(target=knock, args=(worker,)) for worker in [app, second_worker] * 8]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(allowed) == [False] * 11 + [True] * 5


def test_the_allowance_comes_back_as_time_passes(app):
    start = utcnow()
    assert [hit("form:a", 3, MINUTE, start).allowed for _ in range(3)] == [True, True, True]
    refused = hit("form:a", 3, MINUTE, start)
    assert (refused.allowed, refused.retry_after) == (False, 20)  # one place comes back every 20 s
    # Knocking while refused does not push the wait further.
    assert hit("form:a", 3, MINUTE, start + timedelta(seconds=19)).retry_after == 1
    assert hit("form:a", 3, MINUTE, start + timedelta(seconds=20)).allowed
    assert not hit("form:a", 3, MINUTE, start + timedelta(seconds=20)).allowed
    later = start + timedelta(seconds=80)  # a whole minute after the last hit allowed: all three again
    assert [hit("form:a", 3, MINUTE, later).allowed for _ in range(4)] == [True, True, True, False]
    assert hit("form:b", 3, MINUTE, start).allowed  # each key on its own


def test_rows_of_keys_no_longer_limited_are_cleaned_by_later_hits(app):
    start = utcnow()
    for number in range(120):
        hit(f"form:198.51.100.{number}", 10, MINUTE, start)
    assert db.session.scalar(select(func.count()).select_from(RateLimit)) == 120
    for _ in range(3):  # each hit deletes a few, so none ever waits long for it
        hit("form:203.0.113.7", 10, MINUTE, start + timedelta(minutes=1))
    assert db.session.scalar(select(func.count()).select_from(RateLimit)) == 1


@pytest.fixture
def limited_form(app):
    """A form limited as the desk's are: two posts an hour per address; ``?fail=1`` leaves without saving."""
    @rate_limited("test-form", limit=2, per=timedelta(hours=1), methods=("POST",))
    def form():
        if request.method == "GET":
            return "the form"
        db.session.add(Lease(name=request.form["name"], holder="form", expires_at=utcnow()))
        db.session.flush()
        if request.args.get("fail"):
            return "not saved", 409  # the session is rolled back when the request ends
        db.session.commit()
        return "saved"

    app.add_url_rule("/test/limited-form", view_func=form, methods=["GET", "POST"])
    return "/test/limited-form"


def leases():
    db.session.remove()
    return db.session.scalars(select(Lease.name).order_by(Lease.name)).all()


def test_beyond_the_limit_the_view_does_not_run_and_the_answer_says_when_to_come_back(client, limited_form):
    with client.session_transaction() as browser_session:
        browser_session["language"] = "en"
    assert client.submit(limited_form, {"name": "first"}).get_data(as_text=True) == "saved"
    assert client.submit(limited_form, {"name": "second"}).status_code == 200
    refused = client.submit(limited_form, {"name": "third"})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert 1790 <= int(refused.headers["Retry-After"]) <= 1800  # one post every 30 minutes after the first two
    page = refused.get_data(as_text=True)
    assert "Too many requests" in page and "Wait 30 minutes and try again." in page
    assert leases() == ["first", "second"]
    assert client.get(limited_form).status_code == 200  # only posts are counted
    as_json = client.submit(limited_form, {"name": "fourth"}, headers={"Accept": "application/json"})
    assert as_json.status_code == 429 and as_json.headers["Retry-After"]
    assert as_json.get_json()["retry_after"] == int(as_json.headers["Retry-After"])
    assert "Wait 30 minutes" in as_json.get_json()["error"]
    other = client.submit(limited_form, {"name": "other"}, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.get_data(as_text=True) == "saved"  # another address has its own allowance


def test_a_view_that_fails_still_has_its_hit_counted_and_its_own_work_undone(client, limited_form):
    assert client.submit(f"{limited_form}?fail=1", {"name": "kept"}).status_code == 409
    assert client.submit(limited_form, {"name": "saved"}).get_data(as_text=True) == "saved"
    assert client.submit(limited_form, {"name": "late"}).status_code == 429  # the failed post counted
    assert leases() == ["saved"]  # the counter's commit did not save the failed post's lease


def test_counting_after_writing_neither_commits_nor_undoes_the_writing(app):
    db.session.add(Lease(name="half-done", holder="view", expires_at=utcnow()))
    db.session.flush()
    if db.engine.dialect.name == "sqlite":
        # SQLite has one writer: the counter would wait for the session's own lock, so it says so at once.
        with pytest.raises(RuntimeError, match="count before writing"):
            hit("form:203.0.113.7", 1, MINUTE, utcnow())
        return
    assert hit("form:203.0.113.7", 1, MINUTE, utcnow()).allowed
    outside = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with outside.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Lease)) == 0  # not committed by the counter
    outside.dispose()
    db.session.rollback()
    assert not hit("form:203.0.113.7", 1, MINUTE, utcnow()).allowed  # the rollback kept the count
