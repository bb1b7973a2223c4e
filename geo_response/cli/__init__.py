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


@app.callback()
def _root() -> None:
    """geo-response: police response times, target compliance and deployment planning."""


def _register() -> None:
    """Import every command module (each adds its commands to ``app``)."""
    for name in _COMMAND_MODULES:
        importlib.import_module(f"geo_response.cli.{name}")


def get_app() -> typer.Typer:
    """The ``geo-response`` app with every command registered (for embedding and tests)."""
    _register()
    return app


def main() -> None:
    """Entry point of the ``geo-response`` console script."""
    get_app()()
