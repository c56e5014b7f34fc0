"""What catalogue managers look at and change besides requests: calls, resources, requests by year and
state, grants ending soon, lapsed grants; each list also as CSV."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from helpdesk.auth.models import User
from helpdesk.catalog.models import CatalogCall, CatalogRequest, Grant, Resource
from helpdesk.catalog.services import KEEPERS
from helpdesk.catalog.states import GrantStatus, RequestStatus
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed, Problems
from helpdesk.extensions import db


def require_keeper(actor: User | None) -> None:
    if actor is not None and actor.role not in KEEPERS:
        raise NotAllowed(_l("Only catalogue managers change calls and resources."))


def save_call(actor: User | None, year: int | None, opens_on: date | None, closes_on: date | None,
              call: CatalogCall | None = None) -> CatalogCall:
    """Create or change a year's call; every problem with it is refused at once."""
    require_keeper(actor)
    problems: list[DomainError] = []
    if year is None:
        problems.append(DomainError(_l("Give the call's year."), "year"))
    if opens_on is None:
        problems.append(DomainError(_l("Give the day the call opens."), "opens_on"))
    if closes_on is None:
        problems.append(DomainError(_l("Give the day the call closes."), "closes_on"))
    if opens_on is not None and closes_on is not None and closes_on < opens_on:
        problems.append(DomainError(_l("The call cannot close before it opens."), "closes_on"))
    if year is not None and opens_on is not None and opens_on.year != year:
        problems.append(DomainError(_l("The %(year)d call opens in %(year)d.", year=year), "opens_on"))
    other = db.session.scalar(select(CatalogCall).where(CatalogCall.year == year)) if year is not None else None
    if other is not None and other is not call:
        problems.append(DomainError(_l("There is already a call for %(year)d.", year=year), "year"))
    Problems.raise_if_any(problems)
    before = audit.snapshot(call, CatalogCall.AUDITED) if call else {}
    if call is None:
        call = CatalogCall()
        db.session.add(call)
    call.year, call.opens_on, call.closes_on = year, opens_on, closes_on
    db.session.flush()
    audit.record(actor, "updated" if before else "created", call,
                 audit.diff(before, audit.snapshot(call, CatalogCall.AUDITED)))
    return call


def save_resource(actor: User | None, resource: Resource, name: str, description: str, requirements: list[str],
                  is_active: bool) -> Resource:
    """Change a resource; every problem with it is refused at once."""
    require_keeper(actor)
    problems: list[DomainError] = []
    if not name.strip():
        problems.append(DomainError(_l("Give the resource's name."), "name"))
    requirements = [line.strip() for line in requirements if line.strip()]
    if not requirements:
        problems.append(DomainError(_l("List the requirements for the grant, one per line."), "requirements"))
    Problems.raise_if_any(problems)
    before = audit.snapshot(resource, Resource.AUDITED)
    resource.name, resource.description = " ".join(name.split()), description
    resource.requirements, resource.is_active = requirements, is_active
    if changes := audit.diff(before, audit.snapshot(resource, Resource.AUDITED)):
        audit.record(actor, "updated", resource, changes)
    return resource


def requests_query(year: int | None, status: str | None) -> Select:
    query = select(CatalogRequest).order_by(CatalogRequest.year.desc(), CatalogRequest.id.desc())
    if year:
        query = query.where(CatalogRequest.year == year)
    if status in {item.value for item in RequestStatus}:
        query = query.where(CatalogRequest.status == RequestStatus(status))
    return query


def grants_query(view: str, today: date, days: int) -> Select:
    """``ending``: active grants ending within ``days``; ``lapsed``; ``grace``; anything else: all."""
    query = select(Grant).order_by(Grant.ends_on)
    if view == "ending":
        return query.where(Grant.status == GrantStatus.ACTIVE, Grant.ends_on <= today + timedelta(days=days))
    if view in ("lapsed", "grace"):
        return query.where(Grant.status == GrantStatus(view))
    return query


def requests_csv_rows(requests: Iterable[CatalogRequest]) -> Iterator[list]:
    """The header and a row per request, for ``csvsafe.download``."""
    yield ["reference", "year", "kind", "status", "council", "ine_code", "project_kind", "project_title",
           "referent", "referent_email", "instance", "desired_host", "languages", "submitted_at", "decided_at",
           "manager_message"]
    for item in requests:
        yield [item.reference, item.year, item.kind.value, item.status.value, item.council.name,
               item.council.ine_code, item.project_kind.value if item.project_kind else "", item.project_title,
               item.referent.name if item.referent else "", item.referent.email if item.referent else "",
               item.instance.base_url if item.instance else "", item.desired_host, " ".join(item.languages),
               item.submitted_at.isoformat() if item.submitted_at else "",
               item.decided_at.isoformat() if item.decided_at else "", item.manager_message]


def grants_csv_rows(grants: Iterable[Grant]) -> Iterator[list]:
    """The header and a row per grant, for ``csvsafe.download``."""
    yield ["grant", "council", "ine_code", "instance", "instance_status", "status", "starts_on", "ends_on",
           "renewals", "lapsed_on", "request"]
    for item in grants:
        yield [item.id, item.council.name, item.council.ine_code, item.instance.base_url,
               item.instance.status.value, item.status.value, item.starts_on.isoformat(), item.ends_on.isoformat(),
               item.renewals, item.lapsed_on.isoformat() if item.lapsed_on else "", item.request.reference]
