# sledhub: `make demo` runs the product, `make test` passes the tests. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8080

.PHONY: demo test accuracy bench bench-profile setup system-demo system-test clean

demo: system-demo setup
	$(VENV)/bin/sledhub demo --port $(PORT)

test: system-test setup
	$(PY) -m pytest -q -p no:cacheprovider

# the end-to-end accuracy suite: >= 300 runs against a real hub and broker, a table of errors per field
# (tests/accuracy/README.md; ACCURACY_ARGS e.g. "--seed 3 --runs 600 --rigs 2")
ACCURACY_ARGS ?=
accuracy: system-test setup
	$(PY) -m tests.accuracy.runner --runs 300 $(ACCURACY_ARGS)

bench: system-demo setup
	$(PY) -m bench.run

# the same, with py-spy sampling the hub (collapsed stacks in bench/out/profile-*.txt)
bench-profile: system-demo setup
	$(PY) -m pip install -q -e ".[test,profile]"
	$(PY) -m bench.run --profile

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
