"""The ``geo-response`` command line: a thin layer over the library.

Each area registers its commands from its own submodule.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="geo-response: police response times, target compliance and deployment planning.",
                  no_args_is_help=True, add_completion=False)

# Submodules that add commands to `app` (each owns its commands).
_COMMAND_MODULES = ("network", "routing", "compliance", "maps", "plan", "demo", "fetch")


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(f"geo_response.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"geo_response.cli.{name}":
                raise


def main() -> None:
    """Entry point of the ``geo-response`` console script."""
    _register()
    app()
