"""Accompaniment's screens: the council's requests, the OTPGL queue, the request page (assessment,
sessions, outcomes), advisers' upcoming sessions (list and week), per-council history and CSV."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from helpdesk.accompaniment import services
from helpdesk.accompaniment.forms import AnswerForm, AssessmentForm, OutcomeForm, RequestForm, SessionForm
from helpdesk.accompaniment.models import AccompanimentRequest, AccompanimentSession
from helpdesk.accompaniment.states import LABELS, SESSION_KINDS, RequestStatus, SessionStatus
from helpdesk.auth.access import roles_required, staff_required
from helpdesk.auth.models import Role, User
from helpdesk.core import audit, csvsafe
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import id_argument, show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import describe_field
from helpdesk.councils.models import Council
from helpdesk.councils.views import council_choices, council_filed_for
from helpdesk.extensions import db
from helpdesk.instances.views import instance_section

bp = Blueprint("accompaniment", __name__, url_prefix="/accompaniment")

describe_field("action", _l("Action"))
describe_field("needs", _l("What you need"), LABELS[services.Need])
describe_field("preferred_dates", _l("Preferred dates and times"))
describe_field("assessment", _l("Assessment"))
describe_field("question", _l("Question"))
describe_field("session", _l("Session"))
describe_field("status", _l("Status"), LABELS[RequestStatus])


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def visible_request(request_id: int) -> AccompanimentRequest:
    return db.first_or_404(select(AccompanimentRequest).where(AccompanimentRequest.id == request_id,
                                                              AccompanimentRequest.visible_to(current_user)))


def _session(request_id: int, session_id: int) -> AccompanimentSession:
    item = visible_request(request_id)
    session = db.session.get(AccompanimentSession, session_id)
    if session is None or session.request_id != item.id:
        abort(404)
    return session


@bp.get("/")
@login_required
def index():
    if current_user.role is Role.OTPGL_APPROVER:
        return redirect(url_for("accompaniment.queue"))
    if current_user.is_staff:
        return redirect(url_for("accompaniment.sessions"))
    page = paginate(select(AccompanimentRequest).where(
        AccompanimentRequest.council_id == current_user.council_id).order_by(AccompanimentRequest.id.desc()))
    return render_template("accompaniment/index.html", page=page, council=None)


@bp.get("/queue")
@roles_required(Role.OTPGL_APPROVER, Role.ADMIN)
def queue():
    page = paginate(select(AccompanimentRequest).where(AccompanimentRequest.status == RequestStatus.REQUESTED)
                    .order_by(AccompanimentRequest.requested_at, AccompanimentRequest.id))
    return render_template("accompaniment/queue.html", page=page)


@bp.get("/requests")
@staff_required
def history():
    council_id = id_argument(request.args, "council")
    query = select(AccompanimentRequest).order_by(AccompanimentRequest.id.desc())
    if council_id:
        query = query.where(AccompanimentRequest.council_id == council_id)
    if request.args.get("format") == "csv":
        return _csv(db.session.scalars(query).all())
    councils = db.session.execute(select(Council.id, Council.name).order_by(Council.name)).all()
    return render_template("accompaniment/index.html", page=paginate(query), council=council_id, councils=councils)


def _csv(items: list[AccompanimentRequest]) -> Response:
    def rows():
        yield ["reference", "council", "instance", "status", "action", "needs", "requested_at", "decided_at",
               "assessment", "sessions_held", "sessions_planned"]
        for item in items:
            yield [item.reference, item.council.name, item.instance.base_url, item.status.value, item.action,
                   " ".join(item.needs), item.requested_at.isoformat(),
                   item.decided_at.isoformat() if item.decided_at else "", item.assessment,
                   sum(s.status is SessionStatus.HELD for s in item.sessions),
                   sum(s.status is SessionStatus.PLANNED for s in item.sessions)]
    return csvsafe.download("accompaniment", rows())


@bp.get("/sessions")
@staff_required
def sessions():
    """Upcoming sessions (mine by default, everyone's with ?all=1), as a list or a week."""
    mine = not request.args.get("all")
    week = request.args.get("week", "")
    try:
        monday = datetime.strptime(week + "-1", "%G-W%V-%u").date() if week else None
    except ValueError:
        monday = None
    if monday is not None and not 1901 <= monday.year <= 9998:
        monday = None  # (the previous and next weeks must exist too)
    today = utcnow().astimezone(_zone()).date()
    query = select(AccompanimentSession).where(AccompanimentSession.status == SessionStatus.PLANNED) \
        .order_by(AccompanimentSession.starts_at, AccompanimentSession.id)
    if mine:
        query = query.where(AccompanimentSession.adviser_id == current_user.id)
    if monday is not None:
        start = datetime.combine(monday, datetime.min.time(), _zone())
        query = query.where(AccompanimentSession.starts_at >= start,
                            AccompanimentSession.starts_at < start + timedelta(days=7))
    else:
        query = query.where(AccompanimentSession.starts_at >= utcnow() - timedelta(hours=8))
    # The list has no end, so it pages; a week is shown whole (advisers' sessions never overlap: a few dozen each).
    page = paginate(query) if monday is None else None
    items = page.items if page is not None else db.session.scalars(query).all()
    days = [monday + timedelta(days=offset) for offset in range(7)] if monday else []
    by_day = {day: [item for item in items if item.starts_at.astimezone(_zone()).date() == day] for day in days}
    this_week = today.isocalendar()
    return render_template("accompaniment/sessions.html", sessions=items, page=page, mine=mine, monday=monday,
                           by_day=by_day, this_week=f"{this_week.year}-W{this_week.week:02d}", kinds=SESSION_KINDS,
                           week_of=lambda day: f"{day.isocalendar().year}-W{day.isocalendar().week:02d}",
                           timedelta=timedelta)


def _instances(form: RequestForm, council: Council | None) -> None:
    form.council_id.choices = council_choices(council)
    form.instance_id.choices = [("", "—")] + [(str(item.id), item.host) for item in (council.instances if council
                                                                                     else [])]


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def new():
    if current_user.is_staff and current_user.role not in services.FILERS:
        abort(403)
    council = council_filed_for()
    form = RequestForm()
    _instances(form, council)
    if council is not None and request.method == "GET":
        form.council_id.data = council.id
        if len(form.instance_id.choices) == 2:
            form.instance_id.data = form.instance_id.choices[1][0]
    if request.method == "POST" and council is None:
        form.validate()
        form.council_id.errors = [_("Choose the council the request is for.")]
    elif council is not None and request.form.get("step") == "ask" and form.validate_on_submit():
        try:
            item = services.ask(current_user, council, services.RequestData(
                int(form.instance_id.data) if form.instance_id.data else None, form.action.data or "",
                form.description.data or "", list(form.needs.data or []), form.preferred_dates.data or "",
                form.attendees.data or ""), utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Request %(reference)s sent: the OTPGL assesses it before any session is scheduled.",
                    reference=item.reference), "success")
            return redirect(url_for("accompaniment.show", request_id=item.id))
    return render_template("accompaniment/request_form.html", form=form, council=council), \
        422 if form.errors else 200


@bp.get("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    return _show(visible_request(request_id))


def _show(item: AccompanimentRequest, status: int = 200, **forms):
    session_form = forms.get("session_form") or SessionForm()
    if "session_form" not in forms:  # a new booking starts from what the council asked for
        defaults = services.session_defaults(item)
        session_form.kind.data, session_form.attendees.data = defaults.kind, defaults.attendees
    session_form.adviser_id.choices = [(user.id, user.name) for user in db.session.scalars(
        select(User).where(User.is_active, User.role.in_(services.ADVISERS)).order_by(User.name))]
    if not session_form.adviser_id.data and current_user.role in services.ADVISERS:
        session_form.adviser_id.data = current_user.id
    return render_template("accompaniment/request.html", item=item, status_labels=LABELS, kinds=SESSION_KINDS,
                           assessment_form=forms.get("assessment_form") or AssessmentForm(),
                           answer_form=forms.get("answer_form") or AnswerForm(), session_form=session_form,
                           outcome_form=forms.get("outcome_form") or OutcomeForm(),
                           is_approver=current_user.role in services.APPROVERS,
                           is_adviser=current_user.role in services.ADVISERS,
                           trail=audit.trail(item) if current_user.is_staff else []), status


def _moved(item: AccompanimentRequest):
    db.session.commit()
    flash(_("%(reference)s: %(status)s.", reference=item.reference, status=item.status.label.lower()), "success")
    return redirect(url_for("accompaniment.show", request_id=item.id))


@bp.post("/requests/<int:request_id>/<any(authorise, refuse, ask):decision>")
@login_required
def decide(request_id: int, decision: str):
    item = visible_request(request_id)
    form = AssessmentForm()
    if form.validate_on_submit():
        action = {"authorise": services.authorise, "refuse": services.refuse, "ask": services.ask_information}
        try:
            action[decision](current_user, item, form.assessment.data or "", utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            return _moved(item)
    return _show(visible_request(request_id), 422, assessment_form=form)


@bp.post("/requests/<int:request_id>/<any(answer, cancel, complete):step>")
@login_required
def council_step(request_id: int, step: str):
    item = visible_request(request_id)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            if step == "answer":
                services.answer(current_user, item, form.answer.data or "", utcnow())
            elif step == "cancel":
                services.cancel(current_user, item, form.reason.data or "", utcnow())
            else:
                services.complete(current_user, item, utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            return _moved(item)
    return _show(visible_request(request_id), 422, answer_form=form)


def _session_data(form: SessionForm) -> services.SessionData:
    starts_at = datetime.combine(form.day.data, form.time.data, _zone())
    return services.SessionData(form.kind.data, starts_at, form.duration_minutes.data, bool(form.online.data),
                                form.location.data or "", form.adviser_id.data, form.attendees.data or "")


@bp.post("/requests/<int:request_id>/sessions")
@staff_required
def schedule(request_id: int):
    item = visible_request(request_id)
    form = SessionForm()
    form.adviser_id.choices = [(user.id, user.name) for user in db.session.scalars(
        select(User).where(User.is_active, User.role.in_(services.ADVISERS)))]
    if form.validate_on_submit():
        try:
            session = services.schedule_session(current_user, item, _session_data(form), utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Session booked for %(when)s; the invitations are on their way.",
                    when=session.starts_at.astimezone(_zone()).strftime("%d/%m/%Y %H:%M")), "success")
            return redirect(url_for("accompaniment.show", request_id=item.id))
    return _show(visible_request(request_id), 422, session_form=form)


@bp.post("/requests/<int:request_id>/sessions/<int:session_id>/<any(cancel, outcome):step>")
@staff_required
def session_step(request_id: int, session_id: int, step: str):
    session = _session(request_id, session_id)
    form = OutcomeForm() if step == "outcome" else AnswerForm()
    if form.validate_on_submit():
        try:
            if step == "cancel":
                services.cancel_session(current_user, session, form.reason.data or "", utcnow())
            else:
                services.record_outcome(current_user, session, form.notes_for_council.data or "",
                                        form.internal_notes.data or "", form.follow_up_actions.data or "", utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Session saved."), "success")
            return redirect(url_for("accompaniment.show", request_id=request_id))
    key = "outcome_form" if step == "outcome" else "answer_form"
    return _show(visible_request(request_id), 422, **{key: form})


@bp.get("/requests/<int:request_id>/sessions/<int:session_id>.ics")
@login_required
def ics(request_id: int, session_id: int):
    session = _session(request_id, session_id)
    method = "CANCEL" if session.status is SessionStatus.CANCELLED else "REQUEST"
    return Response(services.invitation(session, method, utcnow()), mimetype="text/calendar",
                    headers={"Content-Disposition": f"attachment; filename=session-{session.id}.ics"})


@instance_section
def _accompaniment_section(instance, user):
    items = db.session.scalars(select(AccompanimentRequest).where(
        AccompanimentRequest.instance_id == instance.id, AccompanimentRequest.visible_to(user))
        .order_by(AccompanimentRequest.id.desc())).all()
    return ("accompaniment/_instance_section.html", {"requests": items}) if items else None


@bp.app_context_processor
def accompaniment_helpers():
    return {"local_time": lambda moment: moment.astimezone(_zone())}
