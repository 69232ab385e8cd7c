"""The baseline for ``realdream --help``: a typer app with one command, run the same way."""

import typer

app = typer.Typer()


@app.command()
def hello(name: str) -> None:
    """Say hello to NAME."""
    typer.echo(f"hello {name}")


if __name__ == "__main__":
    app()
