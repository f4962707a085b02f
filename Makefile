# The two commands of the README. Each bootstraps .venv from nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test lint typecheck unit bench translations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/screener db upgrade
	$(BIN)/screener serve --port $(PORT)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

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
