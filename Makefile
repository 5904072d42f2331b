# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test browser servers lint format schema bench dist clean

# A current pip: the resolver of the one Python ships (23.x) backtracks for many minutes
# over this dependency set.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) pip==26.3

# Stamps: reinstall when pyproject.toml changes (entry points live there).
$(VENV)/.installed-all: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[all]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed-all

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed-all

demo: $(VENV)/.installed-all
	$(BIN)/dagwright sample-data
	$(BIN)/dagwright validate
	$(BIN)/dagwright run shop_daily --start 2026-01-01 --end 2026-02-01
	$(BIN)/dagwright report

# The run report is tested in a real headless browser (Debian's chromium package).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && apt-get install -y -qq chromium; } \
	  || echo "note: no chromium found; the report test will fail until you run: sudo apt-get install -y chromium (or set DAGWRIGHT_SKIP_BROWSER=1)"

# The Celery test runs a real Redis broker (Debian's redis-server package); the MySQL
# destination's tests a real MariaDB server (mariadb-server).
servers:
	@command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && apt-get install -y -qq redis-server; } \
	  || echo "note: no redis-server found; the Celery test will fail until you run: sudo apt-get install -y redis-server"
	@command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server; } \
	  || echo "note: no mariadbd found; the MySQL tests will fail until you run: sudo apt-get install -y mariadb-server"

test: $(VENV)/.installed-dev browser servers
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: $(VENV)/.installed-all
	$(BIN)/dagwright schema -o dagwright.schema.json
	$(BIN)/dagwright reference

# Side-by-side benchmarks (1M and 5M rows; several minutes): writes benchmarks/results.md
# and benchmarks/results.png. Smaller run: make bench BENCH_ARGS="--sizes 100000 --repeat 1"
bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# The wheel and sdist of this checkout, in dist/ (what `pip install` and `dagwright init` take).
dist: $(VENV)/.installed-dev
	rm -rf dist build
	$(BIN)/python -m build --wheel --sdist --outdir dist .

clean:
	rm -rf .dagwright warehouse.duckdb warehouse.duckdb.wal data/shop dist build
