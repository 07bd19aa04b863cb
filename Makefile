# The two set-up commands of the README, and the checks. Everything installs itself into .venv.
VENV ?= .venv
PYTHON ?= python3
PLUGINS := $(wildcard plugins/*/pyproject.toml)
PORT ?= 8071
WORKERS ?= 1
JOBS ?= 2

.PHONY: install run test test-browser test-postgres lint bench plugin-kit clean

$(VENV)/.installed: pyproject.toml $(PLUGINS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $@

install: $(VENV)/.installed

## Serve on embedded defaults: SQLite in ./data, a private Valkey, LiveKit dev keys (and the UI at /
## when MEET_FRONTEND_DIST names a built frontend).
run: install
	$(VENV)/bin/meet serve --migrate --host 127.0.0.1 --port $(PORT) --workers $(WORKERS)

## The whole test suite (SQLite; PostgreSQL as well when MEET_TEST_DATABASE_URL is set). With
## MEET_FRONTEND_DIST naming a built frontend it includes the browser tests (tests/browser/, kept on
## one worker by their xdist group); without, it says in one line that they did not run.
test: install
	$(VENV)/bin/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

## Only the browser tests of the official frontend (MEET_FRONTEND_DIST=<dist>, Debian's chromium).
test-browser: install
	@test -n "$$MEET_FRONTEND_DIST" || { echo "set MEET_FRONTEND_DIST to a built frontend (dist/)"; exit 2; }
	$(VENV)/bin/python -m pytest -n 0 tests/browser $(PYTEST_ARGS)

## The suite against a throwaway PostgreSQL cluster started here.
test-postgres: install
	url=$$(scripts/postgres.sh start) || exit 1; \
	MEET_TEST_DATABASE_URL=$$url $(VENV)/bin/python -m pytest -n $(JOBS) $(PYTEST_ARGS); \
	status=$$?; scripts/postgres.sh stop; exit $$status

## Load benchmark of the join path (bench/README.md); e.g. BENCH_ARGS="--database postgres".
bench: install
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

## The starter kit's path, as a plugin author takes it: `meet plugin new` outside this tree, then
## meet-core and that plugin installed into a fresh virtualenv, then the plugin's own tests.
plugin-kit: install
	kit=$$(mktemp -d) && trap 'rm -rf "$$kit"' EXIT && \
	$(VENV)/bin/meet plugin new kit_probe --directory "$$kit" && \
	$(PYTHON) -m venv "$$kit/venv" && \
	"$$kit/venv/bin/pip" install --quiet "$(CURDIR)[test]" "$$kit/meet-plugin-kit-probe[test]" && \
	cd "$$kit/meet-plugin-kit-probe" && "$$kit/venv/bin/meet" plugins && "$$kit/venv/bin/python" -m pytest -q

lint: install
	$(VENV)/bin/ruff check meet_core plugins tests bench
	$(VENV)/bin/mypy meet_core $(dir $(wildcard plugins/*/meet_*/__init__.py))
	$(VENV)/bin/lint-imports --no-logo --no-cache

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
