"""The loopback Decidim server the instance tests talk to."""
import pytest

from tests.instances.decidim_server import FIXTURES, DecidimServer


@pytest.fixture
def decidim():
    if not FIXTURES.is_dir():  # ../shared is on the project's machines and in CI, not in every checkout
        pytest.skip("needs ../shared/fixtures/decidim (the Decidim API fixtures)")
    server = DecidimServer()
    yield server
    server.stop()
