# Parley: `make run` serves the app, `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format migrations migrations-check ci bench bench-smoke clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Development server: debug on unless DJANGO_DEBUG says otherwise; production sets its env.
run: $(STAMP)
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	@if [ "$${DJANGO_DEBUG:-1}" = 1 ]; then DJANGO_DEBUG=1 $(BIN)/python manage.py seed_demo; \
	else echo "Production mode: demo users not created (manage.py seed_demo --allow-production)."; fi
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py collectstatic --noinput -v 0
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python -m chatproject.serve -b 127.0.0.1 -p $(PORT) chatproject.asgi:application

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate both migration sets: SQLite (default settings) and MongoDB (dummy-engine variant).
migrations: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations accounts messaging attachments safety
	DJANGO_DEBUG=1 DJANGO_SETTINGS_MODULE=chatproject.settings_mongo_migrations \
		$(BIN)/python manage.py makemigrations admin auth contenttypes sessions accounts messaging attachments safety

migrations-check: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=1 DJANGO_SETTINGS_MODULE=chatproject.settings_mongo_migrations \
		$(BIN)/python manage.py makemigrations --check --dry-run

ci:
	bash .ci/run

# Benchmarks (bench/, docs/PERFORMANCE.md): the full run takes about 2 hours on 2 cores (3 interleaved
# repeats, each trial waits for a quiet machine); system N needs node + npm. Never a CI gate.
bench: $(STAMP)
	$(BIN)/python -m bench

# The same harness at tiny rates and counts (1-2 min): proves it works, not how fast.
bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) staticfiles
