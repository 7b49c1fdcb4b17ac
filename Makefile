# Everything a fresh machine needs, in two entry points: `make verify` (the main job) and `make test` (CI).
PY ?= python3
NB_TIMEOUT ?= 240
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: install verify figures test lint types unit smoke notebooks bench clean

# Installs what is missing: torch first (the pinned CPU build; an unpinned torch pulls GBs of CUDA packages),
# then the package with its dev and notebook extras. Re-run when pyproject.toml changes.
build/.installed: pyproject.toml
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,notebooks]"
	@mkdir -p build && touch $@

install: build/.installed

verify: install            ## the main job: every claim at the default scale, report in reports/verification.md
	$(PY) -m sgdlab verify --scale default --json build/verify-default.json

figures: install           ## regenerate figures/ (default scale)
	$(PY) -m sgdlab figures --scale default

test: install lint types unit smoke notebooks   ## what CI runs

# One BLAS/OpenMP thread for CI: tiny batched torch ops slow down 30x when two threads fight over two busy cores.
test unit smoke notebooks: export OMP_NUM_THREADS = 1
test unit smoke notebooks: export MKL_NUM_THREADS = 1

lint:
	$(PY) -m ruff check .

types:
	$(PY) -m mypy theory sims sgdlab

unit:
	$(PY) -m pytest -q -p no:cacheprovider tests

smoke:                     ## every claim at the smoke scale; fails on any unexpected verdict
	$(PY) -m sgdlab verify --scale smoke --json build/verify-smoke.json

# Notebooks: jupytext percent scripts, run headless in smoke mode, first as scripts, then through a real kernel.
notebooks:
	@mkdir -p build/notebooks
	@for nb in notebooks/*.py; do \
	  echo "== $$nb (script, smoke)"; \
	  SGDLAB_SCALE=smoke timeout $(NB_TIMEOUT) $(PY) $$nb > build/notebooks/$$(basename $$nb .py).log 2>&1 \
	    || { cat build/notebooks/$$(basename $$nb .py).log; exit 1; }; \
	done
	@for nb in notebooks/*.py; do $(PY) -m jupytext --quiet --set-kernel python3 --to ipynb -o build/notebooks/$$(basename $$nb .py).ipynb $$nb; done
	SGDLAB_SCALE=smoke $(PY) -m pytest -q -p no:cacheprovider --nbmake --nbmake-timeout=$(NB_TIMEOUT) build/notebooks/*.ipynb

bench: install             ## benchmarks (slow; results go to benchmarks/RESULTS.md by hand)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build .sgdlab_cache
