"""Commands of this area are registered on the root app."""

import typer


def register(app: typer.Typer) -> None:
    pass
