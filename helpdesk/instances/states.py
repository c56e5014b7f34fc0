"""The life of a platform instance, as a table of allowed status changes."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class InstanceStatus(enum.Enum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LAPSED = "lapsed"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    InstanceStatus.PROVISIONING: _l("Provisioning"),
    InstanceStatus.ACTIVE: _l("Active"),
    InstanceStatus.SUSPENDED: _l("Suspended"),
    InstanceStatus.LAPSED: _l("Lapsed"),
    InstanceStatus.RETIRED: _l("Retired"),
}

ALLOWED_TRANSITIONS: dict[InstanceStatus, frozenset[InstanceStatus]] = {
    InstanceStatus.PROVISIONING: frozenset({InstanceStatus.ACTIVE, InstanceStatus.RETIRED}),
    InstanceStatus.ACTIVE: frozenset({InstanceStatus.SUSPENDED, InstanceStatus.LAPSED,
                                      InstanceStatus.RETIRED}),
    InstanceStatus.SUSPENDED: frozenset({InstanceStatus.ACTIVE, InstanceStatus.LAPSED,
                                         InstanceStatus.RETIRED}),
    # A renewal filed during or after the grace period brings a lapsed instance back.
    InstanceStatus.LAPSED: frozenset({InstanceStatus.ACTIVE, InstanceStatus.RETIRED}),
    InstanceStatus.RETIRED: frozenset(),
}


def can_change(current: InstanceStatus, new: InstanceStatus) -> bool:
    return new in ALLOWED_TRANSITIONS[current]
