"""Sphinx configuration: the pages in this folder plus an API reference from docstrings."""

import intake_persist

project = "intake_persist"
author = "the intake_persist developers"
release = intake_persist.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]
root_doc = "index"
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
nitpicky = False
suppress_warnings: list[str] = []
