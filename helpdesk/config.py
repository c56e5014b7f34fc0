"""Settings: defaults here, then ``instance/config.py``, then ``HELPDESK_*`` environment variables.

Every setting is typed by its default; a value that does not parse, or that breaks a rule below,
stops start-up with a :class:`ConfigError` that names the setting in one line.
"""
from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "HELPDESK_"
LANGUAGES = ("ca", "es", "en")
# Each language named in itself, as the language picker shows it.
LANGUAGE_LABELS = {"ca": "Català", "es": "Castellano", "en": "English"}

#: Every setting the desk knows, with its default. The type of the default is the setting's type.
DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": "",
    "DATABASE_URL": "",  # empty: a SQLite file in the instance folder
    "PORT": 5000,
    "DEFAULT_LANGUAGE": "ca",
    "TIMEZONE": "Europe/Madrid",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_LIFETIME_HOURS": 12,
    # Staff sessions end after this many idle minutes (ENS); council users' after SESSION_LIFETIME_HOURS.
    "SESSION_IDLE_MINUTES_STAFF": 30,
    # Login throttling without lock-outs: after LOGIN_MAX_FAILURES_PER_ACCOUNT failures of one account from
    # one address, that pair waits (1, 2, 4 … minutes, at most LOGIN_THROTTLE_MINUTES); an address that fails
    # LOGIN_MAX_FAILURES_PER_ADDRESS times inside LOGIN_THROTTLE_MINUTES waits whatever account it tries.
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
    "LOGIN_THROTTLE_MINUTES": 15,
    # The account's owner is told once a day by e-mail when it fails this many times in an hour.
    "LOGIN_ATTACK_NOTICE_FAILURES": 20,
    # Roles that must sign in with a second factor (TOTP), separated by commas; empty: nobody must.
    "SECOND_FACTOR_ROLES": "admin,agent,technician,catalogue_manager,otpgl_approver",
    # Invitation and password-reset links: how long they work.
    "INVITATION_DAYS": 7,
    "PASSWORD_RESET_MINUTES": 60,
    # Argon2id cost of a password hash (memory in KiB, passes); old hashes are upgraded at sign-in.
    "PASSWORD_HASH_MEMORY_KIB": 65536,
    "PASSWORD_HASH_TIME_COST": 3,
    # The sign-in record (sign-ins, failures, resets, second factors, invitations) is kept this many days.
    "SIGN_IN_RECORD_DAYS": 730,
    # Tickets closed more than this many years ago are pseudonymised by `helpdesk privacy purge`; 0: never.
    "PRIVACY_RETENTION_YEARS": 0,
    "PAGE_SIZE": 25,
    # How many reverse proxies (nginx, a load balancer) stand before the app and set X-Forwarded-*.
    "TRUSTED_PROXIES": 0,
    "SUPPORT_EMAIL": "suportparticipa311@diba.cat",
    "SUPPORT_PHONE": "934 020 704",
    # Mail out. An empty SMTP_HOST keeps messages waiting in the outbox (development, demo).
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_SECURITY": "none",  # none, starttls or ssl
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    # password (when SMTP_USERNAME is set), or oauth2: XOAUTH2 as SMTP_USERNAME with a token of the provider.
    "SMTP_AUTH": "password",
    "SMTP_OAUTH2_TOKEN_URL": "",
    "SMTP_OAUTH2_CLIENT_ID": "",
    "SMTP_OAUTH2_CLIENT_SECRET": "",
    "SMTP_OAUTH2_SCOPE": "",
    "SMTP_OAUTH2_REFRESH_TOKEN": "",  # empty: the client-credentials grant
    "MAIL_FROM_NAME": "Suport Participa311",
    # Mail in. Other addresses of the desk (mail from them is never ticketed), the subject tag, the limit.
    "MAIL_ALIASES": "suportdecidim@diba.cat",
    "MAIL_SUBJECT_TAG": "Participa311",
    "MAIL_MAX_BYTES": 25 * 1024 * 1024,
    # An IMAP mailbox to fetch from (more can be added in the administration screens).
    "IMAP_HOST": "",
    "IMAP_PORT": 993,
    "IMAP_SECURITY": "ssl",  # ssl, starttls or none
    "IMAP_USERNAME": "",
    "IMAP_PASSWORD": "",
    "IMAP_FOLDER": "INBOX",
    "IMAP_PROCESSED_FOLDER": "",  # empty: processed mail is flagged \\Seen and left in the folder
    "IMAP_POLL_SECONDS": 60,  # when the server has no IDLE
    "IMAP_CA_FILE": "",  # a CA bundle for mail servers with a private certificate authority (all mailboxes)
    # The scheduler: one process runs the jobs; another waits and takes over when the lease runs out.
    "SCHEDULER_LEASE_SECONDS": 60,
    # SLA: a ticket is "at risk" once this share of a target's business time is used.
    "SLA_WARNING_PERCENT": 75,
    # The desk's public address, for links in the e-mail it sends; empty: derived (the address a page was served
    # at, or http://127.0.0.1:PORT in the scheduler and the CLI). Production sets it.
    "BASE_URL": "",
    # Service catalogue: new instances' domain, when renewals open, reminders before the end, grace period.
    "CATALOG_INSTANCE_DOMAIN": "diba.cat",
    "CATALOG_RENEWAL_WINDOW_DAYS": 90,
    "CATALOG_REMINDER_DAYS": "90,30,7",
    "CATALOG_GRACE_DAYS": 30,
    # Platform instances: how often their Decidim is asked what it runs, and how long to wait for it.
    "INSTANCE_REFRESH_HOURS": 24,
    "DECIDIM_TIMEOUT_SECONDS": 10,
    # The 24x7 monitor: a check every MONITOR_MINUTES; an outage ticket after MONITOR_FAILURES failures in a row.
    "MONITOR_MINUTES": 2,
    "MONITOR_FAILURES": 3,
    "MONITOR_TIMEOUT_SECONDS": 5,
    "MONITOR_RESOLVE_ON_RECOVERY": False,
    # Planned maintenance: the councils' contacts are told by e-mail this many hours before a window starts.
    "MAINTENANCE_NOTICE_HOURS": 48,
    # The API (/api/v1): requests per personal access token and minute; a burst of as many is allowed.
    "API_RATE_LIMIT_PER_MINUTE": 300,
    # Operations status (/admin/status, `helpdesk status`, /health): when a fact turns warning, then problem.
    "STATUS_FETCH_WARNING_MINUTES": 10,  # last successful fetch of a mailbox (IDLE renews every 5 minutes)
    "STATUS_FETCH_PROBLEM_MINUTES": 30,
    "STATUS_OUTBOX_WARNING_MINUTES": 15,  # oldest message still waiting to be sent
    "STATUS_OUTBOX_PROBLEM_MINUTES": 60,
    "STATUS_DISK_WARNING_PERCENT": 10,  # free space where files are stored
    "STATUS_DISK_PROBLEM_PERCENT": 5,
    # The bearer token of /health for an outside monitor; empty: /health answers 404.
    "HEALTH_TOKEN": "",
    # Webhooks: how long a receiver may take, how many attempts a delivery gets (1, 2, 4 … minutes apart, at most
    # 4 hours), and when a failing subscription is paused (failing that many hours, or that many deliveries in a row
    # out of attempts). Addresses are https; plain http only to this machine or to WEBHOOK_HTTP_HOSTS (names,
    # separated by commas). Addresses in private networks are refused except those in WEBHOOK_PRIVATE_NETWORKS
    # (such as 10.20.0.0/16,127.0.0.0/8, separated by commas).
    "WEBHOOK_TIMEOUT_SECONDS": 5,
    "WEBHOOK_MAX_ATTEMPTS": 10,
    "WEBHOOK_PAUSE_AFTER_HOURS": 24,
    "WEBHOOK_PAUSE_AFTER_FAILED": 5,
    "WEBHOOK_HTTP_HOSTS": "",
    "WEBHOOK_PRIVATE_NETWORKS": "",
}

#: Settings read from the environment only (they locate everything else).
INSTANCE_PATH_VARIABLE = ENV_PREFIX + "INSTANCE_PATH"

MIN_SECRET_KEY_LENGTH = 16


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it and says what to do."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{ENV_PREFIX}{setting}: {message}")
        self.setting = setting


def instance_path(environ: Mapping[str, str] | None = None) -> Path:
    """The instance folder: ``HELPDESK_INSTANCE_PATH`` or ``instance/`` beside the package."""
    environ = os.environ if environ is None else environ
    raw = environ.get(INSTANCE_PATH_VARIABLE, "").strip()
    path = Path(raw).expanduser() if raw else PROJECT_ROOT / "instance"
    if not path.is_absolute():
        path = Path.cwd() / path
    return path


def parse_value(name: str, raw: str) -> Any:
    """Parse an environment string into the type of the setting's default."""
    default = DEFAULTS[name]
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(name, f"expected yes/no (1/0, true/false), got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    return raw


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as ``HELPDESK_*`` variables, parsed."""
    values = {}
    for name in DEFAULTS:
        if ENV_PREFIX + name in environ:
            values[name] = parse_value(name, environ[ENV_PREFIX + name])
    return values


def database_url(raw: str, instance: Path) -> str:
    """Check the database URL and return the one SQLAlchemy should use."""
    if not raw:
        return f"sqlite:///{instance / 'helpdesk.sqlite3'}"
    try:
        url: URL = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", f"not a database URL: {raw!r} "
                          "(expected sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME)") from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url.render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        if not url.database:
            raise ConfigError("DATABASE_URL", "the PostgreSQL URL names no database")
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ConfigError("DATABASE_URL", f"unsupported database {url.drivername!r}: use sqlite:///PATH "
                      "or postgresql+psycopg://USER@HOST/NAME")


def validate(config: dict[str, Any]) -> None:
    """Check the rules that span more than a value's type; raise ConfigError on the first broken one."""
    for name, default in DEFAULTS.items():
        value = config.get(name)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(name, f"expected True or False, got {value!r}")
        elif isinstance(default, int) and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(name, f"expected a whole number, got {value!r}")
        elif isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(name, f"expected text, got {value!r}")
    if not config["SECRET_KEY"]:
        raise ConfigError("SECRET_KEY", "not set: set SECRET_KEY in instance/config.py "
                          "or the HELPDESK_SECRET_KEY environment variable")
    if len(config["SECRET_KEY"]) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError("SECRET_KEY", f"too short: use at least {MIN_SECRET_KEY_LENGTH} random characters")
    if not 1 <= config["PORT"] <= 65535:
        raise ConfigError("PORT", f"must be between 1 and 65535, got {config['PORT']}")
    if config["DEFAULT_LANGUAGE"] not in LANGUAGES:
        raise ConfigError("DEFAULT_LANGUAGE", f"must be one of {', '.join(LANGUAGES)}")
    if config["SMTP_SECURITY"] not in ("none", "starttls", "ssl"):
        raise ConfigError("SMTP_SECURITY", f"must be none, starttls or ssl, got {config['SMTP_SECURITY']!r}")
    if config["IMAP_SECURITY"] not in ("none", "starttls", "ssl"):
        raise ConfigError("IMAP_SECURITY", f"must be none, starttls or ssl, got {config['IMAP_SECURITY']!r}")
    if not 1 <= config["IMAP_PORT"] <= 65535:
        raise ConfigError("IMAP_PORT", f"must be between 1 and 65535, got {config['IMAP_PORT']}")
    if config["MAIL_MAX_BYTES"] < 1024:
        raise ConfigError("MAIL_MAX_BYTES", "must be at least 1024")
    if not 5 <= config["IMAP_POLL_SECONDS"] <= 3600:
        raise ConfigError("IMAP_POLL_SECONDS", "must be between 5 and 3600")
    if config["BASE_URL"] and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", config["BASE_URL"]):
        raise ConfigError("BASE_URL", f"not a web address: {config['BASE_URL']!r}")
    if not re.fullmatch(r"\d{1,3}(,\d{1,3})*", config["CATALOG_REMINDER_DAYS"].replace(" ", "")):
        raise ConfigError("CATALOG_REMINDER_DAYS", "days before the end separated by commas, such as 90,30,7")
    if not 1 <= config["CATALOG_RENEWAL_WINDOW_DAYS"] <= 365:
        raise ConfigError("CATALOG_RENEWAL_WINDOW_DAYS", "must be between 1 and 365")
    if not 0 <= config["CATALOG_GRACE_DAYS"] <= 365:
        raise ConfigError("CATALOG_GRACE_DAYS", "must be between 0 and 365")
    if not 1 <= config["INSTANCE_REFRESH_HOURS"] <= 24 * 30:
        raise ConfigError("INSTANCE_REFRESH_HOURS", "must be between 1 and 720")
    if not 1 <= config["MONITOR_MINUTES"] <= 60:
        raise ConfigError("MONITOR_MINUTES", "must be between 1 and 60")
    if not 1 <= config["MONITOR_FAILURES"] <= 20:
        raise ConfigError("MONITOR_FAILURES", "must be between 1 and 20")
    if not 1 <= config["MAINTENANCE_NOTICE_HOURS"] <= 24 * 30:
        raise ConfigError("MAINTENANCE_NOTICE_HOURS", "must be between 1 and 720")
    if not 1 <= config["API_RATE_LIMIT_PER_MINUTE"] <= 100_000:
        raise ConfigError("API_RATE_LIMIT_PER_MINUTE", "must be between 1 and 100000")
    if not 1 <= config["MONITOR_TIMEOUT_SECONDS"] <= 60:
        raise ConfigError("MONITOR_TIMEOUT_SECONDS", "must be between 1 and 60")
    if not 1 <= config["DECIDIM_TIMEOUT_SECONDS"] <= 120:
        raise ConfigError("DECIDIM_TIMEOUT_SECONDS", "must be between 1 and 120")
    if config["IMAP_CA_FILE"] and not Path(config["IMAP_CA_FILE"]).is_file():
        raise ConfigError("IMAP_CA_FILE", f"no such file: {config['IMAP_CA_FILE']}")
    if not 1 <= config["SMTP_PORT"] <= 65535:
        raise ConfigError("SMTP_PORT", f"must be between 1 and 65535, got {config['SMTP_PORT']}")
    if config["SMTP_AUTH"] not in ("password", "oauth2"):
        raise ConfigError("SMTP_AUTH", f"must be password or oauth2, got {config['SMTP_AUTH']!r}")
    if config["SMTP_AUTH"] == "oauth2":
        _validate_smtp_oauth2(config)
    if not 5 <= config["SCHEDULER_LEASE_SECONDS"] <= 3600:
        raise ConfigError("SCHEDULER_LEASE_SECONDS", "must be between 5 and 3600")
    if not 1 <= config["SLA_WARNING_PERCENT"] <= 99:
        raise ConfigError("SLA_WARNING_PERCENT", "must be between 1 and 99")
    if not 0 <= config["TRUSTED_PROXIES"] <= 5:
        raise ConfigError("TRUSTED_PROXIES", f"must be between 0 and 5, got {config['TRUSTED_PROXIES']}")
    for kind in ("FETCH", "OUTBOX"):
        warning, problem = config[f"STATUS_{kind}_WARNING_MINUTES"], config[f"STATUS_{kind}_PROBLEM_MINUTES"]
        if not 1 <= warning < problem:
            raise ConfigError(f"STATUS_{kind}_PROBLEM_MINUTES", f"must be more than the warning's {warning} minutes "
                              "(and the warning at least 1)")
    if not 0 <= config["STATUS_DISK_PROBLEM_PERCENT"] < config["STATUS_DISK_WARNING_PERCENT"] <= 100:
        raise ConfigError("STATUS_DISK_WARNING_PERCENT", "must be between the problem's percentage and 100")
    _validate_webhooks(config)
    if config["HEALTH_TOKEN"] and len(config["HEALTH_TOKEN"]) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError("HEALTH_TOKEN", f"too short: use at least {MIN_SECRET_KEY_LENGTH} random characters")
    for name in ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "LOGIN_MAX_FAILURES_PER_ADDRESS", "LOGIN_ATTACK_NOTICE_FAILURES",
                 "LOGIN_THROTTLE_MINUTES", "PAGE_SIZE", "SESSION_LIFETIME_HOURS", "SESSION_IDLE_MINUTES_STAFF",
                 "INVITATION_DAYS", "PASSWORD_RESET_MINUTES", "PASSWORD_HASH_TIME_COST", "SIGN_IN_RECORD_DAYS"):
        if config[name] < 1:
            raise ConfigError(name, f"must be at least 1, got {config[name]}")
    if config["PRIVACY_RETENTION_YEARS"] < 0:
        raise ConfigError("PRIVACY_RETENTION_YEARS", "must be 0 (never) or a number of years")
    if config["PASSWORD_HASH_MEMORY_KIB"] < 8:
        raise ConfigError("PASSWORD_HASH_MEMORY_KIB", "must be at least 8")
    roles = {"admin", "agent", "technician", "catalogue_manager", "otpgl_approver", "council_user"}
    unknown = [name for name in second_factor_roles(config) if name not in roles]
    if unknown:
        raise ConfigError("SECOND_FACTOR_ROLES", f"unknown role {unknown[0]!r}: use {', '.join(sorted(roles))}")
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(config["TIMEZONE"])
    except (ValueError, KeyError, OSError):
        raise ConfigError("TIMEZONE", f"unknown time zone {config['TIMEZONE']!r}") from None


def second_factor_roles(config: Mapping[str, Any]) -> set[str]:
    """The role names of SECOND_FACTOR_ROLES."""
    return {name.strip() for name in config["SECOND_FACTOR_ROLES"].split(",") if name.strip()}


def _validate_webhooks(config: dict[str, Any]) -> None:
    for name, low, high in (("WEBHOOK_TIMEOUT_SECONDS", 1, 30), ("WEBHOOK_MAX_ATTEMPTS", 1, 20),
                            ("WEBHOOK_PAUSE_AFTER_HOURS", 1, 24 * 30), ("WEBHOOK_PAUSE_AFTER_FAILED", 1, 1000)):
        if not low <= config[name] <= high:
            raise ConfigError(name, f"must be between {low} and {high}")
    for network in filter(None, (item.strip() for item in config["WEBHOOK_PRIVATE_NETWORKS"].split(","))):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError("WEBHOOK_PRIVATE_NETWORKS",
                              f"not a network: {network!r} (such as 10.20.0.0/16)") from None


def _validate_smtp_oauth2(config: dict[str, Any]) -> None:
    if not config["SMTP_USERNAME"]:
        raise ConfigError("SMTP_USERNAME", "OAuth2 signs in as a mailbox: set its address")
    url = config["SMTP_OAUTH2_TOKEN_URL"]
    if not url:
        raise ConfigError("SMTP_OAUTH2_TOKEN_URL", "not set: the provider's token endpoint, such as "
                          "https://login.microsoftonline.com/TENANT/oauth2/v2.0/token")
    from helpdesk.core.oauth2 import is_allowed_token_url  # here: config.py loads before the app's modules
    if not is_allowed_token_url(url):
        raise ConfigError("SMTP_OAUTH2_TOKEN_URL", f"must be an https:// address (plain http only on this "
                          f"machine), got {url!r}")
    if not config["SMTP_OAUTH2_CLIENT_ID"]:
        raise ConfigError("SMTP_OAUTH2_CLIENT_ID", "not set: the application (client) id registered with the provider")
    if not (config["SMTP_OAUTH2_CLIENT_SECRET"] or config["SMTP_OAUTH2_REFRESH_TOKEN"]):
        raise ConfigError("SMTP_OAUTH2_CLIENT_SECRET", "not set: the client-credentials grant needs the client "
                          "secret (or set SMTP_OAUTH2_REFRESH_TOKEN for the refresh-token grant)")


def load(instance: Path, overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then instance/config.py, then the environment, then ``overrides``; validated."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    config.update(_from_file(instance / "config.py"))
    config.update(from_environment(environ))
    config.update(overrides or {})
    validate(config)
    config["DATABASE_URL"] = database_url(config["DATABASE_URL"], instance)
    return config


def _from_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    namespace: dict[str, Any] = {"__file__": str(path)}
    try:
        exec(compile(path.read_bytes(), str(path), "exec"), namespace)
    except Exception as error:  # a broken config file must not start the desk, whatever broke it
        raise ConfigError("INSTANCE_PATH", f"{path} could not be read: {error}") from None
    unknown = sorted(key for key in namespace if key.isupper() and key not in DEFAULTS)
    if unknown:
        raise ConfigError(unknown[0], f"unknown setting in {path}")
    return {key: value for key, value in namespace.items() if key in DEFAULTS}
