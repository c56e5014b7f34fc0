"""Facts are read at a chosen moment; mailboxes come from the settings, as HELPDESK_IMAP_* gives one."""
from datetime import UTC, datetime

import pytest

from helpdesk.mail.models import MailboxSettings

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def configured_mailbox(app):
    """The settings' mailbox (nothing listens on port 9: only what is recorded of it matters here)."""
    app.config.update(IMAP_HOST="127.0.0.1", IMAP_PORT=9, IMAP_SECURITY="none", IMAP_USERNAME="support@test",
                      IMAP_PASSWORD="secret", IMAP_POLL_SECONDS=60)
    return MailboxSettings.from_config(app.config)


@pytest.fixture
def dovecot():
    from tests.mail.conftest import _server
    server = _server(tls=False)
    yield server
    server.remove()
