# Two commands on a fresh machine: `make demo` and `make test`. Both create and use ./.venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The example driver plug-in is installed with the test extras: the driver contract tests run
# over plug-ins found through their entry points, and this one is the proof.
EXAMPLE_PLUGIN := examples/campusedge-vendor-rope
SUM := $(shell cat pyproject.toml setup.py $(EXAMPLE_PLUGIN)/pyproject.toml | cksum | cut -d' ' -f1)
BASE_STAMP := $(VENV)/.installed-base-$(SUM)
TEST_STAMP := $(VENV)/.installed-test-$(SUM)

.PHONY: demo test eval lint typecheck services contract messages clean

$(BASE_STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.installed-base-* && touch $(BASE_STAMP)

$(TEST_STAMP): $(BASE_STAMP) $(EXAMPLE_PLUGIN)/pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]' -e $(EXAMPLE_PLUGIN)
	rm -f $(VENV)/.installed-test-* && touch $(TEST_STAMP)

demo: $(BASE_STAMP)
	$(VENV)/bin/campusedge demo

# Installs the Debian packages the tests run for real (Mosquitto, InfluxDB, PostgreSQL for the
# state database, Chromium for the dashboard, a CJK font for the Chinese lesson reports and
# pages (WenQuanYi Micro Hei: 1.6 MB against Noto CJK's 56 MB) and poppler's pdftoppm to render
# the reports back) when run as root and any is missing; without them
# those tests skip, or fail under CAMPUSEDGE_REQUIRE_SERVICES=1. Debian keeps PostgreSQL's
# initdb and pg_ctl in /usr/lib/postgresql/<version>/bin, off PATH.
DEBIAN_PACKAGES := mosquitto influxdb postgresql chromium chromium-driver fonts-wqy-microhei poppler-utils

services:
	@if [ "$$(id -u)" = 0 ] && { [ ! -x /usr/sbin/mosquitto ] || ! command -v influxd >/dev/null 2>&1 \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
	    || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || ! command -v pdftoppm >/dev/null 2>&1; }; then \
	  echo "installing Debian packages: $(DEBIAN_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	fi

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(TEST_STAMP)
	$(VENV)/bin/mypy campusedge edge gateway drivers simulators models firmware_configs
	$(VENV)/bin/mypy $(EXAMPLE_PLUGIN)/campusedge_vendor_rope

contract: $(BASE_STAMP)
	$(VENV)/bin/campusedge contract export --out docs/contract

# Message catalogs: extract the ids from the code, merge them into each language's .po (new ones
# empty, to be translated; gone ones dropped), and compile the .mo files the gateway reads. The
# package build compiles them too (setup.py); tests/test_catalogs.py checks the .po files.
LOCALES := gateway/locale
messages: $(TEST_STAMP)
	mkdir -p build
	$(VENV)/bin/pybabel extract -F babel.cfg --no-wrap --sort-by-file --add-location=file \
	  --project campusedge -o build/campusedge.pot gateway campusedge edge simulators
	$(VENV)/bin/pybabel update -i build/campusedge.pot -d $(LOCALES) -D campusedge \
	  --no-wrap --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d $(LOCALES) -D campusedge --statistics

EVAL_VIDEOS := ../shared/eval/pe_videos

# Three test processes, each test file whole on one of them (its module fixtures built once):
# most of the suite's time is spent waiting on brokers, databases and browsers, not the CPU.
test: $(TEST_STAMP) services lint typecheck
	$(VENV)/bin/campusedge contract export --out docs/contract --check
	$(VENV)/bin/python -m pytest -q -n 3 --dist loadfile

# Repetition counting on the real evaluation clips, when the folder is beside the project (a
# benchmark, kept out of `make test`, which must stay within CI's 20 minutes).
eval: $(BASE_STAMP)
	$(VENV)/bin/campusedge pe eval --if-present $(EVAL_VIDEOS)
	@if [ -f $(EVAL_VIDEOS)/manifest.csv ]; then \
	  $(VENV)/bin/campusedge pe eval-crowd $(EVAL_VIDEOS) --people 2; fi

clean:
	rm -rf $(VENV) build *.egg-info
