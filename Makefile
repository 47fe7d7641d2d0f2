# Benchside: `make run` serves the portal with demo data; `make test` runs every check.
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test lint test-sqlite test-postgres browser bench bench-injection lock clean

install: $(STAMP)

$(STAMP): requirements/dev.txt requirements/main.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Benchside needs Python 3.11 or newer (set PYTHON=python3.12, say)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $(STAMP)

run: install
	$(FLASK) db upgrade
	$(FLASK) demo load
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install browser lint test-sqlite test-postgres

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r app parts_catalog diagnostics config.py wsgi.py

test-sqlite: install
	$(BIN)/pytest

test-postgres: install
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "PostgreSQL run against $$TEST_DATABASE_URL"; \
		$(BIN)/pytest --postgres; \
	else \
		echo "TEST_DATABASE_URL is not set: the PostgreSQL run is skipped."; \
	fi

# The browser tests drive Debian's chromium (Playwright's own browser download does not work here).
browser:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# Benchmarks print figures; they are not part of the test run. One table of every figure against
# its target, at BENCH_PARTS parts (100,000 unless set: minutes; `make bench BENCH_PARTS=1000000`
# for the catalogue's full size). wrk drives the HTTP benchmark: Debian's, installed when missing.
bench: install
	@test -x /usr/bin/wrk || { \
		echo "Installing Debian's wrk for the HTTP benchmark..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/table.py $(if $(BENCH_PARTS),--parts $(BENCH_PARTS))

# SQL injection: Debian's sqlmap against the search and filter parameters of a throwaway portal
# (demo data, 127.0.0.1); prints a table. Minutes, not part of the test run.
bench-injection: install
	@test -x /usr/bin/sqlmap || { \
		echo "Installing Debian's sqlmap..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq sqlmap >/dev/null; }
	$(BIN)/python bench/injection.py

# Re-pin every dependency after changing pyproject.toml.
lock: install
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements/main.txt pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements/dev.txt pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
