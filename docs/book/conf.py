"""Sphinx configuration of the course website (issue 28); scripts/build_book.py stages the sources and runs it.

The stored notebooks are rendered as they are (never executed). Everything the pages load comes from the site
itself: the theme's own assets, a local MathJax (sphinx-mathjax-offline) and no widget scripts.
"""
import os

project = "Deep learning for visual computing: PyTorch labs"
author = "the course team"
REPOSITORY = os.environ["BOOK_REPOSITORY"]  # from pyproject's [project.urls] Repository, set by build_book.py

extensions = ["myst_nb", "sphinx-mathjax-offline"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

nb_execution_mode = "off"           # the notebooks carry their stored runs; the site never executes them
nb_merge_streams = True             # one text block per cell instead of one per print flush
nb_render_markdown_format = "myst"
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

html_theme = "sphinx_book_theme"
html_title = "DLVC labs"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_sourcelink_suffix = ""         # _sources/notebooks/x.ipynb is the notebook itself (build_book.py restores it)
html_last_updated_fmt = None
html_use_index = False              # no API to index: the search page finds words
html_show_copyright = False
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "launch_buttons": {"colab_url": "https://colab.research.google.com", "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
}
# MathJax from the site itself, with the speech/explorer extensions off: they fetch their data from a CDN.
mathjax3_config = {"options": {"menuOptions": {"settings": {"explorer": False, "assistiveMml": False}}}}
html_context = {"default_mode": "light"}   # without it the theme logs "invalid theme mode" on a first visit
