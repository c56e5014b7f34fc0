"""The shape of the code: import direction between domains, and every user-visible string translated."""
import ast
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
# A domain may import its own level and the levels below, never a higher one (STYLE.md).
LEVELS = {"core": 0, "config": 0, "extensions": 0, "auth": 1, "councils": 1, "sla": 1, "instances": 2,
          "tickets": 3, "catalog": 3, "kb": 3, "accompaniment": 4, "mail": 4, "notifications": 4, "status": 4,
          "operations": 5, "dossier": 5, "api": 6,
          "privacy": 6,  # privacy reads every domain's personal data; only the app factory and the CLI import it
          "webhooks": 7}  # a delivery carries the record as the API shows it
ANYTHING_GOES = {"__init__", "cli", "scheduler", "demo", "wsgi"}


def imported_domains(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "helpdesk" and len(parts) > 1:
                yield parts[1]


def test_lower_domains_never_import_higher_ones():
    offences = []
    for path in (ROOT / "helpdesk").rglob("*.py"):
        relative = path.relative_to(ROOT / "helpdesk")
        domain = relative.parts[0].removesuffix(".py")
        if domain in ANYTHING_GOES:
            continue
        for other in imported_domains(path):
            if LEVELS.get(other, 0) > LEVELS[domain]:
                offences.append(f"{relative} imports helpdesk.{other}")
    assert offences == []


def test_every_string_is_translated_into_catalan_and_spanish(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-o", str(template), "--no-location", "."], cwd=ROOT, check=True, capture_output=True)
    wanted = {message.id if isinstance(message.id, str) else message.id[0]
              for message in read_po(template.read_bytes().splitlines(keepends=True)) if message.id}
    for language in ("ca", "es"):
        catalog = read_po((ROOT / f"translations/{language}/LC_MESSAGES/messages.po").read_bytes()
                          .splitlines(keepends=True), locale=language)  # every plural form CLDR has for it
        translated = {message.id if isinstance(message.id, str) else message.id[0]
                      for message in catalog if message.id and message.string and not message.fuzzy
                      and all(message.string if isinstance(message.string, tuple) else [message.string])}
        assert sorted(wanted - translated) == [], f"untranslated in {language} (run `make extract-messages`)"


def test_plurals_read_in_the_language_for_every_count(app):
    """Catalan and Spanish have three plural forms in CLDR (one, many: whole millions, other): a count of 2 or
    40 takes the third, which must not fall back to English."""
    from flask_babel import force_locale, ngettext
    with app.test_request_context():
        for language, one, several in (("ca", "1 tiquet", "40 tiquets"), ("es", "1 tique", "40 tiques")):
            with force_locale(language):
                assert ngettext("%(num)d ticket", "%(num)d tickets", 1) == one
                assert ngettext("%(num)d ticket", "%(num)d tickets", 40) == several
                assert ngettext("%(num)d minute", "%(num)d minutes", 40) != "40 minutes"
