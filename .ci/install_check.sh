#!/usr/bin/env bash
# The package as a user installs it: `pip install .` (not editable) into a fresh virtual environment (reusing the
# already installed torch and friends through --system-site-packages, so nothing is downloaded), then `sgdlab verify`
# and `sgdlab figures` from another folder. Fails if anything is written into site-packages, if outputs do not land in
# the current folder, or if the cache does not respect XDG_CACHE_HOME.
set -euo pipefail
unset PYTHONPATH  # the venv must import the installed package, not a checkout on the path
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m venv --system-site-packages "$WORK/venv"
mkdir -p "$WORK/src"  # build from a copy, so that setuptools' build/ folder never lands in the checkout
tar -C "$ROOT" --exclude=./.git --exclude=./.sgdlab_cache --exclude=./build -cf - . | tar -C "$WORK/src" -xf -
"$WORK/venv/bin/python" -m pip install -q --no-deps "$WORK/src"
mkdir -p "$WORK/elsewhere" && cd "$WORK/elsewhere"
SITE="$("$WORK/venv/bin/python" -c 'import sgdlab, pathlib; print(pathlib.Path(sgdlab.__file__).parents[1])')"
case "$SITE" in "$WORK"/venv/*) ;; *) echo "sgdlab imported from $SITE, not from the fresh venv"; exit 1;; esac
before="$(find "$SITE" -newer "$WORK/venv/bin/python" -type f | grep -v __pycache__ | sort | md5sum)"
export XDG_CACHE_HOME="$WORK/xdg" MPLBACKEND=Agg
"$WORK/venv/bin/sgdlab" verify --scale smoke --only asgd.crossover asgd.variance_larger --json out.json
"$WORK/venv/bin/sgdlab" figures --scale smoke --only asgd_rho
after="$(find "$SITE" -newer "$WORK/venv/bin/python" -type f | grep -v __pycache__ | sort | md5sum)"
[ "$before" = "$after" ] || { echo "files were written into site-packages"; exit 1; }
for d in figures reports; do [ ! -e "$SITE/$d" ] || { echo "$SITE/$d exists"; exit 1; }; done
test -s out.json && python3 -c "import json; json.load(open('out.json'))"
ls sgdlab-out/*/figures/asgd/asgd_rho.png sgdlab-out/*/verification.md >/dev/null
ls "$XDG_CACHE_HOME"/sgdlab/asgd.two_by_two/*.npz >/dev/null
"$WORK/venv/bin/python" -c "from sgdlab.provenance import git_revision; r = git_revision(); assert '(' not in r, r; print('revision', r)"
echo "install check ok: non-editable install, outputs in $(pwd)/sgdlab-out, cache in \$XDG_CACHE_HOME/sgdlab"
