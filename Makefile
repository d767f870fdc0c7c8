# Two entry points for a fresh machine:
#   make run    set up .venv when missing, then run the main job (collab-infer reproduce):
#               every row computed into the untracked runs/reproduce/ and compared with
#               the committed reference results/ (RUN_ARGS=--check: exit 1 on any difference)
#   make test   set up .venv when missing, then run the test suite
# and one that rewrites tracked files on purpose:
#   make reference   recompute the reference run from scratch (into runs/reference/, compared
#                    with the old results/), then replace the committed results/ with it
#
# TORCH_SPEC chooses the torch build that is installed first. The default,
# torch==2.13.0, is a small CPU wheel; on a GPU machine use e.g.
#   make run TORCH_SPEC="torch==2.9.1" TORCH_INDEX=https://download.pytorch.org/whl/cu128
PYTHON      ?= python3
VENV        ?= .venv
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
RUN_ARGS    ?=
PYTEST_ARGS ?=

BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run reference test lint format bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/collab-infer reproduce $(RUN_ARGS)

reference: $(STAMP)
	rm -rf runs/reference
	$(BIN)/collab-infer reproduce --out runs/reference $(RUN_ARGS)
	rm -rf results
	cp -a runs/reference results
	rm -f results/.lock

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
