"""Each record as the API shows it: a JSON-ready dict with its id, its fields and ``url`` (its API address).

The API's answers and the webhooks' deliveries are built from these functions, so a record reads the same
wherever it is sent. ``viewer`` (the user who asks, or None for a delivery to an administrator's
subscription) hides what a council user does not see on the screens: staff-only fields and e-mail addresses
of staff.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from helpdesk.core.urls import base_url

API_PREFIX = "/api/v1"
OUTSIDE_KINDS = ("inbound", "auto_reply", "bounce")  # messages whose sender's address a council may read


def api_url(path: str) -> str:
    """The absolute API address of ``path`` (such as ``/tickets/12``)."""
    return f"{base_url()}{API_PREFIX}{path}"


def moment(value: datetime | date | None) -> str | None:
    """A time as every answer and delivery writes it (ISO 8601 in UTC, ``Z``), or a date (ISO 8601)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _enum(value: Any) -> str | None:
    return None if value is None else value.value


def _is_staff(viewer: Any) -> bool:
    return viewer is None or bool(getattr(viewer, "is_staff", False))


def user_summary(u: Any, viewer: Any = None) -> dict[str, Any] | None:
    """A person as others see them: id and name (and e-mail and role for staff viewers)."""
    if u is None:
        return None
    summary: dict[str, Any] = {"id": u.id, "name": u.name}
    if _is_staff(viewer):
        summary["email"] = u.email
        summary["role"] = u.role.value
    return summary


def ticket(t: Any, viewer: Any = None) -> dict[str, Any]:
    """A ticket: its fields, who asked, who has it, and for staff its SLA dates, last activity and version."""
    data: dict[str, Any] = {
        "id": t.id,
        "reference": t.reference,
        "url": api_url(f"/tickets/{t.id}"),
        "subject": t.subject,
        "status": t.status.value,
        "priority": t.priority.value,
        "category": t.category.value,
        "channel": t.channel.value,
        "council_id": t.council_id,
        "instance_id": t.instance_id,
        "requester": {"contact_id": t.requester_contact_id, "name": t.requester_name,
                      "email": t.requester_email, "phone": t.requester_phone},
        "assignee": user_summary(t.assignee, viewer),
        "merged_into_id": t.merged_into_id,
        "created_at": moment(t.created_at),
        "updated_at": moment(t.updated_at),
        "first_response_at": moment(t.first_response_at),
        "resolved_at": moment(t.resolved_at),
        "closed_at": moment(t.closed_at),
    }
    if _is_staff(viewer):
        # An internal note moves activity_at and the row's version, not updated_at: a council reads neither
        # (nor an ETag that would change with them), as its screens do not say when the team wrote a note.
        data["activity_at"], data["version"] = moment(t.activity_at), t.version
        data["sla"] = {"first_response_due_at": moment(t.first_response_due_at),
                       "first_response_breached_at": moment(t.first_response_breached_at),
                       "resolution_due_at": moment(t.resolution_due_at),
                       "resolution_breached_at": moment(t.resolution_breached_at),
                       "next_due_at": moment(t.next_due_at)}
    return data


def attachment(a: Any) -> dict[str, Any]:
    """A message's file; ``download_url`` gives its bytes."""
    return {"id": a.id, "url": api_url(f"/attachments/{a.id}"),
            "download_url": api_url(f"/attachments/{a.id}/content"),
            "message_id": a.message_id, "filename": a.filename, "content_type": a.content_type,
            "size": a.size, "sha256": a.sha256}


def message(m: Any, viewer: Any = None) -> dict[str, Any]:
    """A message of a ticket's thread (a deleted one keeps its place without its text)."""
    deleted = m.deleted_at is not None
    return {
        "id": m.id,
        "url": api_url(f"/messages/{m.id}"),
        "ticket_id": m.ticket_id,
        "kind": m.kind.value,
        "author": user_summary(m.author, viewer),
        "from_name": m.from_name,
        # A council sees the address of what came from outside, as on the ticket's page, not a staff member's own.
        "from_address": m.from_address if _is_staff(viewer) or m.kind.value in OUTSIDE_KINDS else "",
        "subject": m.subject,
        "body_text": "" if deleted else m.body_text,
        "body_html": "" if deleted else m.body_html,
        "created_at": moment(m.created_at),
        "deleted_at": moment(m.deleted_at),
        "attachments": [] if deleted else [attachment(a) for a in m.attachments],
    }


def council(c: Any, viewer: Any = None) -> dict[str, Any]:
    """A council (local body) with the domains and phones that recognise it."""
    data: dict[str, Any] = {
        "id": c.id, "url": api_url(f"/councils/{c.id}"), "name": c.name, "kind": c.kind.value,
        "ine_code": c.ine_code, "email_domains": c.email_domains, "phone_numbers": c.phone_numbers,
        "created_at": moment(c.created_at), "updated_at": moment(c.updated_at),
    }
    if _is_staff(viewer):
        data["notes"] = c.notes
    return data


def contact(c: Any, viewer: Any = None) -> dict[str, Any]:
    """A person of a council; ``is_technical_referent`` marks the municipal technical referent."""
    return {
        "id": c.id, "url": api_url(f"/contacts/{c.id}"), "council_id": c.council_id, "name": c.name,
        "position": c.position, "email": c.email, "phone": c.phone,
        "is_technical_referent": c.is_technical_referent, "language": c.language,
        "created_at": moment(c.created_at), "updated_at": moment(c.updated_at),
    }


def instance(i: Any, viewer: Any = None) -> dict[str, Any]:
    """A council's platform instance with its health as the monitor last saw it (no credentials)."""
    data: dict[str, Any] = {
        "id": i.id, "url": api_url(f"/instances/{i.id}"), "council_id": i.council_id,
        "base_url": i.base_url, "decidim_version": i.decidim_version,
        "enabled_modules": list(i.enabled_modules or []), "status": i.status.value,
        "organisation_name": i.organisation_name,
        "health": {"state": i.health, "checked_at": moment(i.health_checked_at),
                   "down_since": moment(i.down_since), "failures_in_a_row": i.failures_in_a_row},
        "created_at": moment(i.created_at), "updated_at": moment(i.updated_at),
    }
    if _is_staff(viewer):
        data["notes"] = i.notes
    return data


def catalogue_request(r: Any, viewer: Any = None) -> dict[str, Any]:
    """A council's catalogue request (new platform or renewal) and where its decision stands."""
    return {
        "id": r.id, "reference": r.reference, "url": api_url(f"/catalogue-requests/{r.id}"),
        "kind": r.kind.value, "status": r.status.value, "council_id": r.council_id,
        "resource_id": r.resource_id, "year": r.year, "project_kind": _enum(r.project_kind),
        "project_title": r.project_title, "project_description": r.project_description,
        "project_starts_on": moment(r.project_starts_on), "referent_contact_id": r.referent_contact_id,
        "instance_id": r.instance_id, "desired_host": r.desired_host, "languages": list(r.languages or []),
        "accepts_terms": r.accepts_terms, "renews_grant_id": r.renews_grant_id,
        "manager_message": r.manager_message, "council_answer": r.council_answer,
        "submitted_at": moment(r.submitted_at), "decided_at": moment(r.decided_at),
        "created_at": moment(r.created_at), "updated_at": moment(r.updated_at),
    }


def grant(g: Any, viewer: Any = None) -> dict[str, Any]:
    """A granted resource, from ``starts_on`` to ``ends_on``."""
    return {
        "id": g.id, "url": api_url(f"/grants/{g.id}"), "council_id": g.council_id,
        "resource_id": g.resource_id, "instance_id": g.instance_id, "request_id": g.request_id,
        "status": g.status.value, "starts_on": moment(g.starts_on), "ends_on": moment(g.ends_on),
        "renewals": g.renewals, "lapsed_on": moment(g.lapsed_on),
        "created_at": moment(g.created_at), "updated_at": moment(g.updated_at),
    }


def accompaniment_session(s: Any, viewer: Any = None) -> dict[str, Any]:
    """An accompaniment session of an OTPGL-authorised request (internal notes for staff only)."""
    data: dict[str, Any] = {
        "id": s.id, "url": api_url(f"/accompaniment-sessions/{s.id}"), "request_id": s.request_id,
        "council_id": s.request.council_id, "kind": s.kind.value, "status": s.status.value,
        "starts_at": moment(s.starts_at), "ends_at": moment(s.ends_at), "duration_minutes": s.duration_minutes,
        "online": s.online, "location": s.location, "adviser": user_summary(s.adviser, viewer),
        "attendees": list(s.attendees or []), "notes_for_council": s.notes_for_council,
        "follow_up_actions": s.follow_up_actions, "cancel_reason": s.cancel_reason,
        "created_at": moment(s.created_at), "updated_at": moment(s.updated_at),
    }
    if _is_staff(viewer):
        data["internal_notes"] = s.internal_notes
    return data


def audit_event(e: Any, viewer: Any = None) -> dict[str, Any]:
    """One event of a record's audit trail: who did what, when, each field's value before and after."""
    return {"id": e.id, "created_at": moment(e.created_at), "actor": user_summary(e.actor, viewer),
            "actor_label": e.actor_label, "action": e.action, "changes": e.changes or {}}
