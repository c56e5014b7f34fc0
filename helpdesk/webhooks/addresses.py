"""Which addresses the desk sends webhooks to: https (plain http only to this machine or to the hosts of
WEBHOOK_HTTP_HOSTS), no credentials in the address, and never a private network (the desk's own services,
a cloud's metadata endpoint) unless WEBHOOK_PRIVATE_NETWORKS names it: a subscription must not become a way
to make the desk call inside its own network (SSRF).

The check runs when a subscription is saved and again before each attempt, on the addresses the name
resolves to then (a name that pointed outside when saved may point inside later). Redirects are not
followed, so a receiver cannot send the desk elsewhere either.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from helpdesk.core.errors import DomainError
from helpdesk.webhooks.models import URL_MAX_LENGTH

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (getaddrinfo: names, IP literals, the odd forms such as 2130706433)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def _split(values: str) -> list[str]:
    return [item.strip() for item in values.split(",") if item.strip()]


def allowed_networks(config: Mapping[str, Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in _split(config["WEBHOOK_PRIVATE_NETWORKS"])]


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: IPv6 prefixes whose last 32 bits are an IPv4 address a host or a gateway may reach it by: IPv4-compatible
#: (::/96, deprecated), SIIT's IPv4-translated (::ffff:0:0:0/96) and NAT64's well-known prefix (64:ff9b::/96).
_EMBEDDING = tuple(ipaddress.IPv6Network(prefix) for prefix in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96"))


def _address(text: str) -> Address:
    """The address ``text`` reaches: an IPv6 form that carries an IPv4 address is that IPv4 address."""
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) names no other address
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    if address.sixtofour is not None:
        return address.sixtofour  # 2002:7f00:1:: is 127.0.0.1 behind a 6to4 relay
    if int(address) > 1 and any(address in network for network in _EMBEDDING):  # :: and ::1 are themselves
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: Address) -> bool:
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local  # fec0::/10, deprecated
    return address.is_global and not address.is_multicast and not site_local


def check_url(url: str, config: Mapping[str, Any], resolver: Resolver = resolve) -> str:
    """The address to save, or a DomainError on the ``url`` field saying what to change."""
    url = url.strip()
    if not url:
        raise DomainError(_l("Give the address the desk sends the events to."), "url")
    if len(url) > URL_MAX_LENGTH:
        raise DomainError(_l("The address is too long (at most %(count)d characters).", count=URL_MAX_LENGTH), "url")
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise DomainError(_l("The address cannot contain spaces or control characters."), "url")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        raise DomainError(_l("This is not a web address: use https://host/path."), "url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise DomainError(_l("Use an https:// address (not %(scheme)s:).", scheme=parts.scheme or "…"), "url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise DomainError(_l("Take the user name and password out of the address: receivers check the "
                             "signature instead."), "url")
    if not host:
        raise DomainError(_l("The address names no host: use https://host/path."), "url")
    if scheme == "http" and not (_is_loopback(host.lower())
                                 or host.lower() in {name.lower() for name in _split(config["WEBHOOK_HTTP_HOSTS"])}):
        raise DomainError(_l("Plain http is only for this machine (or the hosts in WEBHOOK_HTTP_HOSTS): use "
                             "https://."), "url")
    check_host(host, port or (443 if scheme == "https" else 80), config, resolver)
    return url


def check_host(host: str, port: int, config: Mapping[str, Any], resolver: Resolver = resolve) -> list[str]:
    """The addresses ``host`` resolves to now, all of them allowed; else a DomainError on ``url``."""
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError):
        found = []
    if not found:
        raise DomainError(_l("The host %(host)s could not be found.", host=host), "url")
    networks = allowed_networks(config)
    for text in found:
        try:
            address = _address(text)
        except ValueError:
            raise DomainError(_l("The host %(host)s could not be found.", host=host), "url") from None
        if not is_public(address) and not any(address in network for network in networks):
            raise DomainError(_l("%(host)s is in a private network (%(address)s): the desk does not send there "
                                 "unless WEBHOOK_PRIVATE_NETWORKS allows it.", host=host, address=str(address)), "url")
    return found
