# The two commands of the README. Each bootstraps .venv from nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test lint typecheck security unit bench translations clean lock audit-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/screener db upgrade
	$(BIN)/screener serve --port $(PORT)

test: lint typecheck security unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Static analysis of the shipped package (security-reliability S-23); configured in pyproject.toml.
security: $(STAMP)
	$(BIN)/bandit -c pyproject.toml -q -r screener

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/rules.py

# After changing any patient-facing text: extract, merge into each language, translate, compile.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l --ignore-dirs='.*' --no-location --sort-output --omit-header \
		-o screener/translations/messages.pot .
	$(BIN)/pybabel update -i screener/translations/messages.pot -d screener/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d screener/translations

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# requirements.lock: the production install, runtime dependencies only (no dev tools), every file
# pinned by its hash. Run after changing [project] dependencies; `make lock LOCK_FLAGS=--upgrade`
# moves every pin to the newest release. Resolved against PyPI alone: a machine's own wheel folders
# (PIP_FIND_LINKS, pip.conf) would put hashes in it that PyPI does not serve. Production installs it with
#   pip install --require-hashes --no-deps -r requirements.lock && pip install --no-deps .
LOCK_FLAGS ?=
lock: $(STAMP)
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --generate-hashes --strip-extras \
		--allow-unsafe --no-emit-index-url --no-emit-find-links --index-url https://pypi.org/simple \
		$(LOCK_FLAGS) --output-file requirements.lock pyproject.toml

# Known vulnerabilities in requirements.lock (security-reliability S-24). Needs PyPI's JSON API, so
# it is not part of `make test`; --strict fails when any package could not be checked.
audit-deps: $(STAMP)
	$(BIN)/pip-audit --strict --require-hashes --disable-pip -r requirements.lock
