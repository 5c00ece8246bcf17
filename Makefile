# sledhub: `make demo` runs the product, `make test` passes the tests. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8080

.PHONY: demo test bench bench-profile soak setup system-demo system-test clean

demo: system-demo setup
	$(VENV)/bin/sledhub demo --port $(PORT)

test: system-test setup
	$(PY) -m pytest -q -p no:cacheprovider

bench: system-demo setup
	$(PY) -m bench.run

# the same, with py-spy sampling the hub (collapsed stacks in bench/out/profile-*.txt)
bench-profile: system-demo setup
	$(PY) -m pip install -q -e ".[test,profile]"
	$(PY) -m bench.run --profile

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
