# lmkbench: two commands do everything (see README).
#   make demo  - set up, run the default offline suite with MiniLM (cls, mean, lmk), compare, write an HTML report
#   make test  - set up, run the test suite and the CI regression gate
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OFFLINE = HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
DEMO_OUT ?= results/demo
# make demo's expected duration, cold (fresh clone, empty store, setup included), on a quiet 2-core CPU without
# AMX: estimated from the CPU seconds of its pieces (issue 29; the README says the same, tests/test_docs.py checks)
DEMO_MINUTES = 9

.PHONY: setup demo demo-duration screenshot test gate bench docs clean

setup: $(VENV)/.installed

# torch first, pinned: an unpinned torch (asked for by mteb / sentence-transformers) pulls GBs of CUDA packages.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[eval,dev,pretrain]' --config-settings editable_mode=compat
	touch $@

# `run --suite default` runs the suite as MiniLM ships (256 tokens) and then its `extended` variant (passkey and
# needle read whole at 4,096 tokens, past the 512 positions: lmkbench.suites). The long compare tables and the
# settings side by side go to $(DEMO_OUT)/compare.txt (and the report); the short task x pooling table, the
# LongEmbed profile and the two paths are the last thing on screen.
demo: demo-duration setup
	$(OFFLINE) $(BIN)/lmkbench run --suite default --model minilm --pooling cls,mean,lmk --out $(DEMO_OUT)
	$(OFFLINE) $(BIN)/lmkbench report $(DEMO_OUT) -o reports/demo.html --baseline mean
	@echo
	@$(OFFLINE) $(BIN)/lmkbench compare $(DEMO_OUT) --baseline mean --profile --settings --out $(DEMO_OUT)/compare.txt
	@echo "results: $(DEMO_OUT)/   report: reports/demo.html"
	@echo "the answer the project has (one checkpoint per pooling, three seeds): reports/matched-finding.html"

# The README's (and the manual's) report screenshot, from the demo report as it is (needs chromium; run make demo
# first): docs/screenshot.py also records the report template's digest, which tests/test_screenshot.py checks.
screenshot: setup
	$(BIN)/python docs/screenshot.py reports/demo.html

demo-duration:
	@echo "make demo: about $(DEMO_MINUTES) minutes on a quiet 2-core CPU without AMX, setup (about 2) included;"
	@echo "           more on a busy machine, much less when .venv and the embedding store (\$$LMKBENCH_CACHE) exist"

test: setup
	$(OFFLINE) $(BIN)/pytest -q
	$(MAKE) gate

gate: setup
	$(OFFLINE) bash ci/gate.sh

bench: setup
	$(OFFLINE) $(BIN)/python benchmarks/run.py

# The manual (docs/manual, tables generated from the code by docs/hooks.py), strictly: every link and
# reference must resolve; then docs/check_site.py: no Sphinx role shown as text, nothing fetched from another
# site (the manual reads offline). Its dependencies (the docs extra) are installed here, not by setup.
docs: $(VENV)/.docs-installed
	$(OFFLINE) NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean
	$(BIN)/python docs/check_site.py build/site

$(VENV)/.docs-installed: $(VENV)/.installed
	$(BIN)/pip install -q -c constraints.txt -e '.[eval,dev,pretrain,docs]' --config-settings editable_mode=compat
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache
