# Two commands: `make run` serves the app with demo data; `make test` runs ruff and every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
MO     := web/translations/vi/LC_MESSAGES/messages.mo
PO     := web/translations/vi/LC_MESSAGES/messages.po
VNU_VERSION := 26.9.27
VNU    := .cache/vnu/package/build/dist/vnu.jar
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint install translations extract bench attack drill fuzz clean

install: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(MO): $(PO) $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d web/translations

run: install
	$(BIN)/custody init
	$(BIN)/custody demo --if-empty --host $(HOST) --port $(PORT)
	$(BIN)/custody serve --host $(HOST) --port $(PORT) --with-worker

lint: install
	$(BIN)/ruff check .

test: lint
	@$(MAKE) --no-print-directory $(VNU) || echo "The HTML checker was not fetched (npm): its test is skipped"
	$(BIN)/pytest

# The W3C's Nu Html Checker (runs on a JRE), fetched once from npm for the pages' test.
$(VNU):
	mkdir -p .cache/vnu
	cd .cache/vnu && npm pack --silent vnu-jar@$(VNU_VERSION) >/dev/null \
		&& tar xzf vnu-jar-$(VNU_VERSION).tgz && rm vnu-jar-$(VNU_VERSION).tgz

# After changing user-visible text: refresh the catalogue, translate what is new, then compile.
extract: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l -k lazy_gettext -k vi --no-location \
		--sort-output -o web/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i web/translations/messages.pot \
		-d web/translations
	rm web/translations/messages.pot

translations: $(MO)

bench: install
	cd bench && ../$(BIN)/python search_bench.py && ../$(BIN)/python queue_bench.py \
		&& ../$(BIN)/python extract_bench.py

# The fuzzers at depth (about 20 minutes): 1,000 inputs per API operation, 200 per form.
fuzz: install
	CUSTODY_FUZZ_EXAMPLES=1000 CUSTODY_FUZZ_FORM_EXAMPLES=200 $(BIN)/pytest -m fuzz

# The 12 findings of issue 12 against a served app (scratch PostgreSQL database, gunicorn).
attack: install
	$(BIN)/python scripts/attack_served.py

# Two nodes behind HAProxy, a synchronous standby promoted under load (README, "Deployment").
drill: install
	$(BIN)/python scripts/failover_drill.py

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache .ruff_cache .cache
