"""The ``geo-response`` command line: a thin layer over the library's workflows.

:func:`create_app` builds the typer app; each command module registers its commands with a
``register(app)`` function (no import side effects). Commands parse options, call one workflow
(:mod:`geo_response.workflows`) and print.
"""

from __future__ import annotations

import typer

from geo_response.cli import common, compliance, demo, fetch, maps, network, plan, routing, simulate, validate

__all__ = ["create_app", "get_app", "main"]

COMMAND_MODULES = (network, routing, compliance, maps, plan, demo, fetch, simulate, validate)


def create_app() -> typer.Typer:
    """A new ``geo-response`` app with every command registered."""
    app = typer.Typer(
        help="geo-response: police response times, target compliance and deployment planning.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        debug: common.DebugOption = False, quiet: common.QuietOption = False, verbose: common.VerboseOption = False
    ) -> None:
        """geo-response: police response times, target compliance and deployment planning."""
        common.STATE["debug"] = debug
        common.configure_output(quiet=quiet, verbose=verbose)

    for module in COMMAND_MODULES:
        module.register(app)
    return app


def get_app() -> typer.Typer:
    """The ``geo-response`` app (for embedding and tests)."""
    return create_app()


def main() -> None:
    """Entry point of the ``geo-response`` console script."""
    create_app()()
