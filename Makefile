# Everything a fresh machine needs, in two entry points: `make verify` (the main job) and `make test` (CI).
PY ?= python3
NB_TIMEOUT ?= 300
export PYTHONHASHSEED := 0

.PHONY: install verify figures test lint types unit smoke notebooks install-check bench clean

# Installs what is missing: torch first (the pinned CPU build; an unpinned torch pulls GBs of CUDA packages),
# then the package with its dev and notebook extras. Re-run when pyproject.toml changes.
build/.installed: pyproject.toml
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,notebooks]"
	@mkdir -p build && touch $@

install: build/.installed

verify: install            ## the main job: every claim at the default scale, report in reports/verification.md
	MPLBACKEND=Agg $(PY) -m sgdlab verify --scale default --json build/verify-default.json

figures: install           ## regenerate figures/ (default scale)
	MPLBACKEND=Agg $(PY) -m sgdlab figures --scale default

test: install lint types unit smoke notebooks install-check   ## what CI runs

# One BLAS/OpenMP thread for CI: tiny batched torch ops slow down 30x when two threads fight over two busy cores.
test unit smoke notebooks install-check: export OMP_NUM_THREADS = 1
test unit smoke notebooks install-check: export MKL_NUM_THREADS = 1

lint:
	$(PY) -m ruff check .

types:
	$(PY) -m mypy theory sims sgdlab

unit:
	MPLBACKEND=Agg $(PY) -m pytest -q -p no:cacheprovider tests

smoke:                     ## every claim at the smoke scale; fails on any unexpected verdict
	MPLBACKEND=Agg $(PY) -m sgdlab verify --scale smoke --json build/verify-smoke.json

# Notebooks: jupytext percent scripts, executed headless in smoke mode through a real kernel with the inline backend
# (no MPLBACKEND here), written back with their outputs, then checked: every notebook that draws figures has images,
# and no figure is shown twice.
notebooks:
	@mkdir -p build/notebooks
	@for nb in notebooks/*.py; do $(PY) -m jupytext --quiet --set-kernel python3 --to ipynb -o build/notebooks/$$(basename $$nb .py).ipynb $$nb; done
	env -u MPLBACKEND SGDLAB_SCALE=smoke $(PY) -m pytest -q -p no:cacheprovider --nbmake --overwrite \
	  --nbmake-timeout=$(NB_TIMEOUT) build/notebooks/*.ipynb
	$(PY) .ci/check_notebooks.py build/notebooks/*.ipynb

# The package as a user installs it (not editable) in a fresh virtual environment, run from another folder.
install-check:
	bash .ci/install_check.sh

bench: install             ## benchmarks (slow; results go to benchmarks/RESULTS.md by hand)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build .sgdlab_cache
