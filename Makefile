# Two commands from a fresh clone: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := inputs/sample_2020.xlsx

.PHONY: run test lint types pytest browser bench screenshots screenshots-web template clean

# The browser tests launch Debian's Chromium from this path (tests/conftest.py).
CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/caf run $(SAMPLE) -o reports/allocation_2020.xlsx --json reports/allocation_2020.json --force; \
	code=$$?; if [ $$code -ne 0 ] && [ $$code -ne 3 ]; then exit $$code; fi
	$(BIN)/caf plan $(SAMPLE) -o reports/plan_2020.xlsx --json reports/plan_2020.json --force; \
	code=$$?; if [ $$code -ne 0 ] && [ $$code -ne 3 ]; then exit $$code; fi

test: lint types pytest

lint: $(STAMP)
	$(BIN)/ruff check model tests benchmarks inputs
	$(BIN)/ruff format --check model tests benchmarks inputs

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser
	$(BIN)/pytest -q

# Installs Debian's chromium when it is missing and we may (root, with apt-get); anywhere
# else it stops here with one line saying what to install, rather than failing in pytest.
CAN_INSTALL = $(and $(filter 0,$(shell id -u)),$(shell command -v apt-get 2>/dev/null))
NO_CHROMIUM = the browser tests need Debian's chromium at $(CHROMIUM): install it as root \
	with apt-get install -y chromium
browser:
ifeq ($(wildcard $(CHROMIUM)),)
	$(if $(CAN_INSTALL),,$(error $(NO_CHROMIUM)))
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	@test -x $(CHROMIUM) || { echo "apt-get installed chromium, but not at $(CHROMIUM)"; exit 2; }
endif

bench: $(STAMP)
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/national.py
	$(BIN)/python benchmarks/plan.py --sizes 340x30
	$(BIN)/python benchmarks/risk.py --draws 100 --county 340x30

# Render the sample's allocation and plan workbooks, the comparison workbook of the
# 37-scenario sweep of docs/inputs.md and a 3-policy risk workbook of 20 draws each,
# through LibreOffice to PDF and PNG pages (not part of `make test`; needs
# libreoffice-calc and poppler-utils). The sample's own horizon (2035) and growth defaults
# drive the plan.
SHOT := reports/allocation_2020
PLAN_SHOT := reports/plan_2020
CMP_SHOT := reports/comparison_2020
RISK_SHOT := reports/risk_2020
CMP_SWEEP := --sweep contribution_ratio=0.035,0.04,0.045 --sweep reserve_months_floor=0,3 \
	--sweep max_rule_deviation=0,0.2 --sweep objective=maximin,range,mad
screenshots: $(STAMP)
	@command -v libreoffice >/dev/null || { echo "install libreoffice-calc (apt-get install -y libreoffice-calc poppler-utils)"; exit 2; }
	@command -v pdftoppm >/dev/null || { echo "install poppler-utils"; exit 2; }
	$(BIN)/caf run $(SAMPLE) -o $(SHOT).xlsx --json $(SHOT).json --force; \
	code=$$?; if [ $$code -ne 0 ] && [ $$code -ne 3 ]; then exit $$code; fi
	$(BIN)/caf plan $(SAMPLE) -o $(PLAN_SHOT).xlsx --json $(PLAN_SHOT).json --force; \
	code=$$?; if [ $$code -ne 0 ] && [ $$code -ne 3 ]; then exit $$code; fi
	$(BIN)/caf compare $(SAMPLE) -o $(CMP_SHOT).xlsx $(CMP_SWEEP) --force; \
	code=$$?; if [ $$code -ne 0 ] && [ $$code -ne 3 ]; then exit $$code; fi
	rm -f $(SHOT).pdf $(SHOT)-*.png $(PLAN_SHOT).pdf $(PLAN_SHOT)-*.png
	$(BIN)/caf risk $(SAMPLE) -o $(RISK_SHOT).xlsx --draws 20 --sweep max_rule_deviation=blank,0.2 --force; \
	code=$$?; if [ $$code -ne 0 ] && [ $$code -ne 3 ]; then exit $$code; fi
	rm -f $(CMP_SHOT).pdf $(CMP_SHOT)-*.png $(RISK_SHOT).pdf $(RISK_SHOT)-*.png
	libreoffice --headless -env:UserInstallation=file://$${TMPDIR:-/tmp}/caf-libreoffice \
		--convert-to pdf --outdir reports $(SHOT).xlsx $(PLAN_SHOT).xlsx $(CMP_SHOT).xlsx \
		$(RISK_SHOT).xlsx
	pdftoppm -png -r 60 $(SHOT).pdf $(SHOT)
	pdftoppm -png -r 60 $(PLAN_SHOT).pdf $(PLAN_SHOT)
	pdftoppm -png -r 60 -l 8 $(CMP_SHOT).pdf $(CMP_SHOT)  # the kpi and charts sheets
	pdftoppm -png -r 60 $(RISK_SHOT).pdf $(RISK_SHOT)
	@ls $(SHOT)-*.png $(PLAN_SHOT)-*.png $(CMP_SHOT)-*.png $(RISK_SHOT)-*.png

# Screenshots of the web interface from the browser tests (headless Chromium).
screenshots-web: $(STAMP) browser
	CAF_SCREENSHOTS=reports/screenshots $(BIN)/pytest -q tests/test_web_browser.py

template: $(STAMP)
	$(BIN)/caf template inputs/template.xlsx --force

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
