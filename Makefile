# The two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PO := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test typecheck test-sqlite test-postgresql translations extract-messages bench clean

run: $(VENV)/.installed $(MO) instance/config.py
	$(BIN)/helpdesk db upgrade
	$(BIN)/helpdesk demo --if-empty
	@echo "The scheduler (mail, SLA warnings) runs beside the web app; its log is instance/scheduler.log"
	$(BIN)/helpdesk scheduler >> instance/scheduler.log 2>&1 & scheduler=$$!; \
		trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
		$(BIN)/helpdesk run --host 127.0.0.1

test: typecheck $(VENV)/.installed-test $(MO)
	env -u HELPDESK_TEST_DATABASE_URL $(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$HELPDESK_TEST_DATABASE_URL" ]; then \
		echo "== the same suite on PostgreSQL ($$HELPDESK_TEST_DATABASE_URL)"; \
		$(BIN)/python -m pytest $(PYTEST_ARGS); \
	else \
		echo "== PostgreSQL run skipped: HELPDESK_TEST_DATABASE_URL is not set"; \
	fi

# mypy --strict on the packages setup.cfg's [mypy] names (core, sla, mail).
typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

translations: $(MO)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ --statistics

# Regenerate the template and merge new strings into each language after changing user-visible text.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_ngettext:1,2 -o translations/messages.pot --no-location --omit-header --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --omit-header --no-fuzzy-matching

# A development configuration with a random secret key; production writes its own (see README).
instance/config.py:
	mkdir -p instance
	printf '# Development settings written by `make run`; see README for production.\nSECRET_KEY = "%s"\nSESSION_COOKIE_SECURE = False  # served over plain HTTP on 127.0.0.1\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" > $@

clean:
	rm -rf $(VENV) build *.egg-info translations/*/LC_MESSAGES/*.mo .pytest_cache
