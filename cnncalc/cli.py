"""The command line: parse options, call the pure stages, print. Nothing is computed here.

Only typer is imported at start-up; each command imports what it needs when it runs,
because start-up time is most of what a user of a calculator feels.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Annotated, Iterator, NoReturn, Optional

import typer

from cnncalc import __version__
from cnncalc.enums import Dtype, OutputFormat

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 70
REPORT_URL = "the project's issue tracker"

app = typer.Typer(
    name="cnncalc",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "Exact shapes, parameters, MACs, memory and receptive fields of convolutional networks, "
        "from a YAML spec, without a framework.\n\n"
        "Example: cnncalc table resnet50"
    ),
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the Python traceback if cnncalc itself fails (for bug reports).")
    ] = False,
) -> None:
    _state["debug"] = debug


def fail(error: object) -> NoReturn:
    """Print a user error to stderr and exit with code 2."""
    print(error.render() if hasattr(error, "render") else str(error), file=sys.stderr)  # type: ignore[attr-defined]
    raise typer.Exit(EXIT_USER_ERROR)


@contextmanager
def guarded() -> Iterator[None]:
    """Turn CnnCalcError into a message and exit code 2; anything else is a bug, said as such."""
    from cnncalc.errors import CnnCalcError

    try:
        yield
    except CnnCalcError as exc:
        fail(exc)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if _state["debug"]:
            raise
        print(
            f"internal error: cnncalc failed on this input ({type(exc).__name__}: {exc}).\n"
            f"  This is a bug in cnncalc, not in your spec. Please report it on {REPORT_URL} with the spec,\n"
            "  and the traceback from running the same command with `cnncalc --debug …`.",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_INTERNAL_ERROR) from None


def print_warnings(warnings: tuple, file: str | None = None) -> None:
    for warning in warnings:
        print(warning.with_file(file).render(), file=sys.stderr)


def parse_input_option(text: str | None):  # -> Shape | None
    if text is None:
        return None
    from cnncalc.errors import CnnCalcError
    from cnncalc.shapes import parse_shape

    try:
        return parse_shape(text)
    except CnnCalcError as exc:
        exc.message = f"--input: {exc.message}"
        raise


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


SpecArgument = Annotated[
    str,
    typer.Argument(
        help="A spec file (YAML), or the name of a bundled model such as resnet50 (see `cnncalc models`).",
        show_default=False,
    ),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table (for people), json, csv or markdown.", case_sensitive=False),
]
InputOption = Annotated[
    Optional[str],
    typer.Option("--input", "-i", help="Override the spec's input size, as HxWxC, e.g. 512x512x3.", show_default=False),
]


@app.command("table")
def table_command(
    spec: SpecArgument,
    depth: Annotated[
        Optional[int],
        typer.Option("--depth", "-d", min=1, help="Collapse blocks nested deeper than N levels into one row with their sums.", show_default=False),
    ] = None,
    input: InputOption = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Batch size for the memory figures.")] = 1,
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Element type for the memory figures.", case_sensitive=False)] = Dtype.FLOAT32,
    format: FormatOption = OutputFormat.TABLE,
    chw: Annotated[bool, typer.Option("--chw", help="Show shapes as C×H×W (PyTorch order) instead of H×W×C.")] = False,
) -> None:
    """Layer by layer: output shape, parameters, MACs; totals and memory.

    Examples:

      cnncalc table resnet50

      cnncalc table my_net.yaml --depth 2 --input 512x512x3

      cnncalc table vgg16 --format json > vgg16.json
    """
    with guarded():
        from cnncalc import zoo
        from cnncalc.engine import analyse

        network = zoo.load(spec)
        analysis = analyse(network, parse_input_option(input))
        print_warnings(analysis.warnings, network.file)
        _emit_analysis(analysis, format=format, depth=depth, batch=batch, dtype=dtype, chw=chw)


def _emit_analysis(analysis, *, format: OutputFormat, depth: int | None, batch: int, dtype: Dtype, chw: bool) -> None:
    from cnncalc import render

    if format is OutputFormat.JSON:
        sys.stdout.write(render.to_json(analysis, depth=depth, batch=batch, dtype=dtype) + "\n")
    elif format is OutputFormat.CSV:
        sys.stdout.write(render.to_csv(analysis, depth=depth, chw=chw))
    elif format is OutputFormat.MARKDOWN:
        sys.stdout.write(render.to_markdown(analysis, depth=depth, batch=batch, dtype=dtype, chw=chw))
    else:
        out = console()
        out.print(render.rich_table(analysis, depth=depth, batch=batch, dtype=dtype, chw=chw, width=out.width))


@app.command("models")
def models_command(
    format: FormatOption = OutputFormat.TABLE,
) -> None:
    """The bundled networks, with input size, parameters, MACs and where each comes from.

    Example:

      cnncalc models
    """
    with guarded():
        from cnncalc import zoo
        from cnncalc.engine import analyse

        entries = []
        for name in zoo.bundled_names():
            network = zoo.load(name)
            totals = analyse(network).totals
            entries.append((name, network, totals))
        if format is OutputFormat.JSON:
            import json

            doc = [
                {
                    "name": name,
                    "input": network.input.as_json(),
                    "params": totals.params,
                    "macs": totals.macs,
                    "description": network.description,
                    "reference": network.reference,
                }
                for name, network, totals in entries
            ]
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            return
        if format in (OutputFormat.CSV, OutputFormat.MARKDOWN):
            lines = (
                ["name,input,params,macs,description"]
                if format is OutputFormat.CSV
                else ["| name | input | params | MACs | description |", "|---|---|---:|---:|---|"]
            )
            for name, network, totals in entries:
                if format is OutputFormat.CSV:
                    import csv
                    import io

                    buffer = io.StringIO()
                    csv.writer(buffer, lineterminator="").writerow(
                        [name, network.input.hwc(), totals.params, totals.macs, network.description]
                    )
                    lines.append(buffer.getvalue())
                else:
                    lines.append(f"| {name} | {network.input.hwc()} | {totals.params:,} | {totals.macs:,} | {network.description} |")
            sys.stdout.write("\n".join(lines) + "\n")
            return
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("Name", no_wrap=True)
        table.add_column("Input", no_wrap=True)
        table.add_column("Params", justify="right", no_wrap=True)
        table.add_column("MACs", justify="right", no_wrap=True)
        table.add_column("Description", overflow="fold")
        for name, network, totals in entries:
            table.add_row(name, network.input.hwc(), f"{totals.params:,}", f"{totals.macs:,}", network.description)
        console().print(table)


@app.command("check")
def check_command(
    specs: Annotated[list[str], typer.Argument(help="One or more spec files or bundled names.", show_default=False)],
) -> None:
    """Validate specs without printing tables: exit 0 if all are fine, 2 with the first problem otherwise.

    Example:

      cnncalc check my_net.yaml && echo ok
    """
    with guarded():
        from cnncalc import zoo
        from cnncalc.engine import analyse

        for spec in specs:
            network = zoo.load(spec)
            analysis = analyse(network)
            print_warnings(analysis.warnings, network.file)
            print(f"{spec}: ok ({len(analysis.leaves())} layers, {analysis.totals.params:,} params)")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
