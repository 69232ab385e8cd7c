#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it all:
# lint, types, the docs site (a broken link or reference fails), and the whole pytest suite
# (browser tests included).
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -k retry   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# Headless Chromium for the browser tests (Debian's package; Playwright's own download is not used).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The docs site (mkdocs, Material, mkdocstrings: the "docs" extra, part of "test") into site/.
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet
# Three workers (pytest-xdist) on two cores: about a third of the run waits (served apps starting,
# real-time latencies, the package index) and a third worker fills it: 136 s against 171 s with
# two. `-n 0` among the arguments runs it in one process.
HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" .venv/bin/python -m pytest -n 3 "$@"
# Short mutation runs (about a minute on two idle cores): the retry rules decide what is resent
# and what counts as billed, the Budget and the number parser what may be spent; at least 90% of
# their non-equivalent mutants must be killed.
if [ "$#" -eq 0 ]; then
  .venv/bin/python scripts/mutation.py realdream/_retry.py realdream/_policy.py \
    --tests tests/core/test_retry.py tests/core/test_retry_rules.py --fail-under 90
  .venv/bin/python scripts/mutation.py realdream/_budget.py realdream/_amounts.py \
    --tests tests/core/test_budget_rules.py tests/core/test_amounts.py \
    tests/core/test_amounts_rules.py --fail-under 90
fi
