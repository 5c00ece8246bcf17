# sledhub: `make demo` runs the product, `make test` passes the tests. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8080

.PHONY: demo test test-fast lint accuracy bench bench-profile faults soak setup system-demo system-test clean

demo: system-demo setup
	MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536 $(VENV)/bin/sledhub demo --port $(PORT)

# (ruff and mypy run inside the suite: tests/suite/test_lint.py)
test: system-test setup
	$(PY) -m pytest -q -p no:cacheprovider

# the inner loop: ruff and mypy (cached), then no browser, no broker, nothing slow (under 30 s);
# `make test` before a commit
test-fast: setup lint
	$(PY) -m pytest -q -p no:cacheprovider -m "not browser and not broker and not slow"

# ruff and mypy, configured in pyproject.toml
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# the end-to-end accuracy suite: >= 300 runs against a real hub and broker, a table of errors per field
# (tests/accuracy/README.md; ACCURACY_ARGS e.g. "--seed 3 --runs 600 --rigs 2")
ACCURACY_ARGS ?=
accuracy: system-test setup
	$(PY) -m tests.accuracy.runner --runs 300 $(ACCURACY_ARGS)

# the class load, ingest and start-up (bench/out/report.json), then the largest load that meets every
# target (bench/out/capacity.json; ≈ 3 min more)
bench: system-demo setup
	$(PY) -m bench.run
	$(PY) -m bench.capacity

# the same, with py-spy sampling the hub (collapsed stacks in bench/out/profile-*.txt)
bench-profile: system-demo setup
	$(PY) -m pip install -q -e ".[test,profile]"
	$(PY) -m bench.run --profile

# every fault of docs/reliability.md against a real hub, broker and nodes; prints the table (needs root:
# the database lives on a small tmpfs). make test runs a short slice (tests/faults/test_faults.py).
faults: system-test setup
	$(PY) -m tests.faults.run

# the demo for SOAK_S seconds after a 2-minute warm-up: RSS, CPU, threads, files, SQLite size (bench/out/soak.json)
SOAK_S ?= 1800
soak: system-demo setup
	$(PY) -m bench.soak --seconds $(SOAK_S)

setup: $(VENV)/.installed web/node_modules/.installed

system-demo:
	@scripts/ensure-system.sh demo

system-test:
	@scripts/ensure-system.sh test

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	@touch $@

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) web/node_modules bench/out .pytest_cache
