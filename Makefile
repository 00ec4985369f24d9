# Two commands (see README): `make lab` (or `make run`) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NBVAL  := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: setup data browser lab run test store clean-build

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)           ## virtual environment with everything installed

data: setup               ## offline stand-ins (seconds); real data: python data_download.py status
	$(PY) data_download.py synthetic

browser:                  ## Debian's Chromium for the browser test (skipped with a reason where impossible)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && \
	    apt-get install -y -q chromium >/dev/null 2>&1; }; }; } || \
	  echo "Chromium could not be installed: tests/test_browser.py will be skipped"

lab: data                 ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

run: data                 ## execute every notebook headless into build/notebooks (default settings)
	$(PY) scripts/run_notebooks.py --out build/notebooks notebooks/*.ipynb

test: data browser        ## unit tests + every notebook (and solution) in smoke mode
	COURSE_SMOKE=1 $(PY) -m pytest tests notebooks $(wildcard solutions) $(NBVAL)

store: data               ## maintainers: re-run notebooks at default settings and store their outputs
	$(PY) scripts/run_notebooks.py --inplace notebooks/*.ipynb

clean-build:
	rm -rf build
