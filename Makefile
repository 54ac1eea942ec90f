# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of this version lies on the build machines' disk; a GPU box may set TORCH_SPEC="torch".
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= test,ltx2,ray,c2pa

.PHONY: install run test lint typecheck pytest bench clean system-deps test-system-deps

$(BIN)/sorabox: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]" "$(TORCH_SPEC)"
	touch $(BIN)/sorabox

install: system-deps $(BIN)/sorabox

# espeak-ng speaks quoted lines in clips; chromium only drives the console's browser tests; iproute2's `ip`
# makes the network namespaces of the two-node Ray test.
system-deps:
	@bash scripts/install-system-deps.sh espeak-ng

test-system-deps:
	@bash scripts/install-system-deps.sh espeak-ng chromium iproute2:ip

run: install
	$(BIN)/sorabox serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install test-system-deps
	$(BIN)/pytest -q

test: install test-system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q --durations=15

bench: install
	$(BIN)/python bench/admission.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
