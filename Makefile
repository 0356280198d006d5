# Two commands matter: `make run` and `make test`. Everything they need is installed by them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
MO := verification/translations/ar/LC_MESSAGES/messages.mo

.PHONY: run test bench install browser lock messages clean

run: install
	$(BIN)/hawiya init
	$(BIN)/hawiya demo
	$(BIN)/hawiya run --host 127.0.0.1 --port 5000

test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

# The verify benchmark drives the servers with Debian's wrk (a Python client stands in without it).
bench: install
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || \
	  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk)
	$(BIN)/python -m bench

install: $(STAMP) $(MO)

# The browser tests (tests/browser) drive Debian's Chromium, never a downloaded build, with a font
# that has Arabic glyphs (DejaVu Sans); the fault tests (tests/cluster) start and kill a Redis
# server of their own. Only `make test` needs them, not `make run`.
CHROMIUM := /usr/bin/chromium
ARABIC_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
REDIS_SERVER := /usr/bin/redis-server
TEST_PACKAGES := chromium fonts-dejavu-core redis-server

browser:
	@if [ -x $(CHROMIUM) ] && [ -f $(ARABIC_FONT) ] && [ -x $(REDIS_SERVER) ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Installing $(TEST_PACKAGES) for the browser and fault tests"; \
	  apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(TEST_PACKAGES); \
	else \
	  echo "The browser and fault tests need $(CHROMIUM), an Arabic font and $(REDIS_SERVER): run" >&2; \
	  echo "  sudo apt-get install --no-install-recommends $(TEST_PACKAGES)" >&2; \
	  exit 1; \
	fi

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

$(MO): verification/translations/ar/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d verification/translations -D messages

# Re-extract the strings of the code and templates and merge them into the Arabic catalogue.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o verification/translations/messages.pot .
	$(BIN)/pybabel update -i verification/translations/messages.pot -d verification/translations

# Re-pin every dependency after a change to pyproject.toml.
lock: install
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --extra test -o requirements.lock

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
