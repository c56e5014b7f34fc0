"""Which addresses a subscription may have, with the name's resolution given (no network needed): public https
is fine, plain http only to this machine or WEBHOOK_HTTP_HOSTS, private networks only when allowed."""
from __future__ import annotations

import pytest

from helpdesk.core.errors import DomainError
from helpdesk.webhooks.addresses import check_url

SETTINGS = {"WEBHOOK_HTTP_HOSTS": "", "WEBHOOK_PRIVATE_NETWORKS": ""}


def resolving(*addresses):
    return lambda host, port: list(addresses)


def test_a_public_https_address_is_accepted_as_typed():
    url = "https://integracions.example.org:8443/participa311?desk=1"
    assert check_url(f"  {url} ", SETTINGS, resolving("93.184.216.34")) == url
    assert check_url("https://hooks.example.org/", SETTINGS, resolving("2606:2800:220:1::")) == "https://hooks.example.org/"


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(DomainError, match=r"private network \(10\.1\.2\.3\)") as refused:
        check_url("https://mixed.example.org/", SETTINGS, resolving("93.184.216.34", "10.1.2.3"))
    assert refused.value.field == "url"


def test_the_settings_open_plain_http_and_private_networks_one_by_one():
    settings = {"WEBHOOK_HTTP_HOSTS": "intranet.diba.local", "WEBHOOK_PRIVATE_NETWORKS": "10.20.0.0/16"}
    assert check_url("http://intranet.diba.local/hook", settings, resolving("10.20.3.4"))
    with pytest.raises(DomainError, match="private network"):
        check_url("http://intranet.diba.local/hook", settings, resolving("10.21.0.1"))  # outside the network allowed
    with pytest.raises(DomainError, match="Plain http"):
        check_url("http://other.diba.local/hook", settings, resolving("10.20.3.5"))
