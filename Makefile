# Two commands (see README): `make lab` (or `make run`) and `make test`. Both go through scripts/course.py,
# which is also the make-free route (Windows): `python scripts/course.py lab` / `python scripts/course.py test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
COURSE := $(PYTHON) scripts/course.py --venv $(VENV)

.PHONY: setup data lab run test store clean-build

setup:                    ## virtual environment with everything installed (again only when pyproject.toml changed)
	$(COURSE) setup

data:                     ## setup + offline stand-ins (seconds); real data: $(PY) data_download.py status
	$(COURSE) data

lab:                      ## set up, then open JupyterLab on the notebooks
	$(COURSE) lab

run: data                 ## execute every notebook headless into build/notebooks (default settings)
	$(PY) scripts/run_notebooks.py --out build/notebooks notebooks/*.ipynb

test:                     ## set up, then unit tests + every notebook (and solution) in smoke mode
	$(COURSE) test

store: data               ## maintainers: re-run notebooks at default settings and store their outputs
	$(PY) scripts/run_notebooks.py --inplace notebooks/*.ipynb

.PHONY: book
book:                     ## the course website in build/site/ from the stored notebooks (installs the [book] extra)
	$(COURSE) book

clean-build:
	rm -rf build
