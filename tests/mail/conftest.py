"""A real Dovecot for the mail tests: plain on loopback, or with TLS (IMAPS and STARTTLS)."""
import os
import shutil

import pytest

from helpdesk.mail.fetching import Fetcher
from tests.dovecot import Dovecot


def _server(tls: bool):
    if shutil.which("dovecot") is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's dovecot-imapd is missing: .ci/run installs it")
        pytest.skip("needs Dovecot (apt-get install dovecot-imapd)")
    server = Dovecot(tls=tls)
    server.start()
    return server


@pytest.fixture
def dovecot():
    server = _server(tls=False)
    yield server
    server.remove()


@pytest.fixture
def tls_dovecot():
    server = _server(tls=True)
    yield server
    server.remove()


@pytest.fixture
def fetchers(app):
    """Fetchers made in a test, closed at its end (each holds a connection)."""
    made = []

    def make(settings, **options):
        made.append(Fetcher(app, settings, **options))
        return made[-1]
    yield make
    for fetcher in made:
        fetcher.close()
