# Everything a clean clone needs: `make run` and `make test` create the virtual environment
# and install the project (models included, from PyPI) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
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

.PHONY: install run test lint simulate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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
	rm -rf $(VENV) var .pytest_cache .ruff_cache
