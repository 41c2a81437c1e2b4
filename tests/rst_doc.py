"""Reading reStructuredText the way docutils does, for the tests that run the
examples of README.rst and docs/*.rst."""

from __future__ import annotations

from pathlib import Path


def parse(path: Path):
    """The docutils document tree of ``path`` (Sphinx-only directives left as
    system messages, not reported)."""
    import docutils.frontend
    import docutils.parsers.rst
    import docutils.utils

    parser = docutils.parsers.rst.Parser()
    settings = docutils.frontend.get_default_settings(docutils.parsers.rst.Parser)
    settings.report_level = 5
    doc = docutils.utils.new_document(str(path), settings)
    parser.parse(path.read_text(encoding="utf-8"), doc)
    return doc
