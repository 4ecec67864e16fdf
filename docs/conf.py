"""Sphinx configuration for the varda documentation (``make docs``)."""
from __future__ import annotations

import os
import sys

# document the source tree next to this file, whatever is installed
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
import varda  # noqa: E402

project = "varda"
author = "the varda developers"
copyright = "2026, the varda developers"
version = release = varda.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Markdown pages
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3
myst_update_mathjax = False  # keep the configuration the same for the html and linkcheck passes

# API reference from the docstrings (numpy- and Google-style through napoleon)
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"show-inheritance": True}
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# varda's attribute and property docstrings are prose ("The last (largest) level: ..."), and
# their types come from annotations. Napoleon would read the text before the first colon as a
# type (Google's "type: description" form for attributes); read the whole docstring as prose.
from sphinx.ext.napoleon.docstring import GoogleDocstring  # noqa: E402


def _prose_inline_attribute(self):
    first = self._lines.next()
    lines = [first, *self._dedent(self._consume_to_end())]
    return "", self.__class__(lines, self._config).lines()


GoogleDocstring._consume_inline_attribute = _prose_inline_attribute

# No network at build time: no intersphinx. Third-party types cannot be linked, so nitpicky
# mode ignores them (and only them); every varda reference must resolve.
_THIRD_PARTY = (
    r"(torch|nn|np|numpy|xr|xarray|dask|da|distributed|pd|pandas|zarr|netCDF4|fsspec|scipy|"
    r"sklearn|matplotlib|plt|safetensors|cf_xarray|tqdm|argparse|pathlib|os|collections|"
    r"typing|typing_extensions|concurrent|threading|contextlib|numbers|enum|dataclasses|"
    r"types|abc|collections\.abc|json|io|datetime)"
)
nitpick_ignore_regex = [
    ("py:.*", _THIRD_PARTY + r"(\..*)?"),
    # builtins and typing names as they appear in annotations
    ("py:class", r"(Path|PathLike|Callable|Iterable|Iterator|Sequence|Mapping|MutableMapping|"
                 r"Any|Literal|Optional|Union|Tensor|ndarray|DataArray|Dataset|Array|"
                 r"Generator|Hashable|Module|Parameter|Client|ArrayLike|NDArray|DTypeLike|"
                 r"Future|Event|Lock|Thread|Namespace|ArgumentParser|TextIO|IO|Self|"
                 r"optional|default|callable|array-like|array_like|torch device)"),
]

# HTML: the pydata theme, offline
html_theme = "pydata_sphinx_theme"
html_title = f"varda {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "auto"}
html_show_sourcelink = False

# linkcheck (run by `make docs` on local links only: the build machine is offline)
linkcheck_ignore = [r"https?://.*"]


# Public short names (``varda.fill``, ``varda.core.fit``, ``varda.array.FillOptions``) are
# re-exports; the reference documents each object once, where it is defined. Resolve a
# reference to a re-exported name to that definition (only when the object is a varda object).
def _resolve_reexport(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if any(part.startswith("_") for part in target.split(".")):
        # a private module or object (``varda.baselines._fields.Field`` in an annotation) is
        # deliberately left out of the reference: its name is shown as text, not linked
        return contnode
    if not target.startswith("varda."):
        # a short name inside a varda docstring: look it up in that docstring's module
        module_name = node.get("py:module") or ""
        if not module_name.startswith("varda") or target.startswith("_"):
            return None
        target = f"{module_name}.{target}"
    import importlib

    parts = target.split(".")
    obj = owner = None
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                owner, obj = obj, getattr(obj, attr)
        except AttributeError:
            obj = None
        break
    import typing

    if isinstance(obj, typing.TypeVar):
        return contnode  # a type variable names no documented object: plain text
    if isinstance(obj, property) or (obj is not None and not hasattr(obj, "__qualname__")):
        # a property or a plain attribute: named after the class or module that holds it
        obj, suffix = owner, "." + parts[-1]
    else:
        suffix = ""
    module = getattr(obj, "__module__", None) or getattr(obj, "__name__", None)
    qualname = getattr(obj, "__qualname__", None)
    if obj is None or not module or not qualname or not module.startswith("varda"):
        return None
    canonical = f"{module}.{qualname}{suffix}" if qualname != module else f"{module}{suffix}"
    if canonical == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical,
                               node, contnode)


def _command_help(command: str) -> str:
    """``varda [COMMAND] --help`` as the terminal shows it (80 columns)."""
    import argparse

    from varda.cli.main import build_parser

    os.environ["COLUMNS"] = "80"
    parser = build_parser()
    if command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[command]
    return parser.format_help()


def _help_directive():
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class VardaHelp(SphinxDirective):
        """``varda-help`` directive: the help text of the ``varda`` command (or a sub-command),
        generated from the parser at build time so that the page never goes stale."""

        optional_arguments = 1

        def run(self):
            text = _command_help(self.arguments[0] if self.arguments else "")
            block = nodes.literal_block(text, text)
            block["language"] = "text"
            return [block]

    return VardaHelp


def _api_directive():
    import importlib
    import pkgutil

    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    class VardaAPI(SphinxDirective):
        """``varda-api`` directive: the package's docstring, then every public module below it
        (names without a leading underscore) with its members, so that a new or moved module
        appears in the reference without editing this page. ``:first:`` lists modules to show
        first, in that order; ``:exclude:`` sub-packages or modules to leave out."""

        required_arguments = 1
        option_spec = {"first": lambda arg: arg.split(), "exclude": lambda arg: arg.split()}

        def run(self):
            package = self.arguments[0]
            exclude = tuple(self.options.get("exclude", ()))
            pkg = importlib.import_module(package)
            names = []
            if hasattr(pkg, "__path__"):
                for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
                    parts = info.name.split(".")
                    if any(p.startswith("_") for p in parts) or info.name.startswith(exclude):
                        continue
                    names.append(info.name)
            first = [n for n in self.options.get("first", ()) if n in names]
            names = first + sorted(n for n in names if n not in first)
            # the pages are MyST Markdown; autodoc writes reStructuredText, so it runs inside
            # an eval-rst block
            lines = ["```{eval-rst}", f".. automodule:: {package}"]
            if not hasattr(pkg, "__path__"):
                lines += ["   :members:"]
            lines += [""]
            for name in names:
                lines += [f".. automodule:: {name}", "   :members:", ""]
            lines += ["```"]
            for name in names:                      # rebuild when a documented module changes
                self.env.note_dependency(importlib.import_module(name).__file__)
            container = StringList(lines, source=f"<varda-api {package}>")
            node = nodes.container()
            nested_parse_with_titles(self.state, container, node)
            return node.children

    return VardaAPI


# Pages that join the site as they are written: a toctree line naming one of them is kept only
# once the page exists, so that the site builds before and after. Every other toctree entry
# must exist (a missing one fails the build).
OPTIONAL_PAGES = {
    "reliability",
    "user-guide/training",
    "user-guide/outputs",
    "user-guide/baselines-and-metrics",
    "benchmarks/mnist",
    "benchmarks/sst",
}


def _drop_unwritten_pages(app, docname, source):
    if not docname.endswith("index"):
        return
    base = docname.rsplit("/", 1)[0] + "/" if "/" in docname else ""
    kept = []
    for line in source[0].splitlines(keepends=True):
        page = base + line.strip()
        if page in OPTIONAL_PAGES and page not in app.env.found_docs:
            continue
        kept.append(line)
    source[0] = "".join(kept)


def setup(app):
    app.connect("missing-reference", _resolve_reexport)
    app.connect("source-read", _drop_unwritten_pages)
    app.add_directive("varda-help", _help_directive())
    app.add_directive("varda-api", _api_directive())
