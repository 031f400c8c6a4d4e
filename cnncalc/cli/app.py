"""The command line: parse options, call the pure stages, print. Nothing is computed here.

Only typer is imported at start-up; each command imports what it needs when it runs,
because start-up time is most of what a user of a calculator feels.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Annotated, Iterator, NoReturn, Optional
from pathlib import Path

import typer

from cnncalc import __version__
from cnncalc.cli import complete
from cnncalc.cli.usage import CnnCalcGroup
from cnncalc.enums import Difficulty, DrawStyle, Dtype, ExportTarget, VerifyFormat, Lang, Optimizer, OutputFormat, QuizFormat, QuizTopic, TableColumn, Task, WeightOrder, WorkFormat

# Every whole number an option takes is bounded by torch's int64 sizes: a product of a few of them still
# prints (Python refuses str() of ints past 4,300 digits) and converts to a float for the memory figures.
MAX_INT = 2**63 - 1
MIN_WIDTH = 60  # columns: the narrowest layout cnncalc draws
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 70
REPORT_URL = "the project's issue tracker"

app = typer.Typer(
    name="cnncalc",
    cls=CnnCalcGroup,  # command-line mistakes in cnncalc's error/hint form
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
    except Exception as exc:
        from cnncalc.cli.streams import OutputFault

        if isinstance(exc, OutputFault):
            raise  # the environment's, reported by main()
        if _state["debug"]:
            raise
        _internal_error(exc)


def _internal_error(exc: Exception) -> NoReturn:
    """A bug in cnncalc: said as such (with how to report it), exit 70."""
    from cnncalc.words import printable

    text = printable(str(exc))
    detail = text if len(text) <= 200 else text[:199] + "…"
    print(
        f"internal error: cnncalc failed on this input ({type(exc).__name__}: {detail}).\n"
        f"  This is a bug in cnncalc, not in your spec. Please report it on {REPORT_URL} with the spec,\n"
        "  and the traceback from running the same command with `cnncalc --debug …`.",
        file=sys.stderr,
    )
    raise typer.Exit(EXIT_INTERNAL_ERROR) from None


def print_warnings(warnings: tuple, file: str | None = None) -> None:
    for warning in warnings:
        print(warning.with_file(file).render(), file=sys.stderr)


def analysed(spec: str, shape=None):  # -> (Network, Analysis)
    """A spec's network and its analysis, warnings printed. When the analysis fails, the spec's own warnings
    (an input that looks channels-first) come first: they are usually why."""
    from cnncalc.core.engine import analyse
    from cnncalc.errors import CnnCalcError
    from cnncalc.spec import zoo

    network = zoo.load(spec, shape)
    try:
        analysis = analyse(network)
    except CnnCalcError:
        if shape is None:
            print_warnings(network.warnings, network.file)
        raise
    print_warnings(analysis.warnings, network.file)
    return network, analysis


def parse_input_option(text: str | None, channels_first: bool = False, offers_chw: bool = False):  # -> Shape | None
    """--input as H×W×C (C×H×W with `channels_first`, table's --chw); a warning when H×W×C looks like C×H×W
    (`offers_chw`: the command has --chw to suggest)."""
    if text is None:
        return None
    from cnncalc.errors import CnnCalcError
    from cnncalc.model.shapes import parse_shape

    try:
        shape = parse_shape(text, channels_first)
    except CnnCalcError as exc:
        raise exc.replaced(message=f"--input: {exc.message}") from None
    if not channels_first:
        from cnncalc.spec.parse import input_order_warning

        hint = "write --input {meant}" + (", or add --chw to read --input as channels first" if offers_chw else "")
        warning = input_order_warning(shape, text, hint)
        if warning is not None:
            print(warning.render(), file=sys.stderr)
    return shape


def screen() -> tuple[int, bool]:
    """Width to lay tables out in, and whether to style them (a terminal without NO_COLOR).

    The width is rich's: COLUMNS when set, the terminal's size, 80 when piped; narrower than
    MIN_WIDTH is laid out at MIN_WIDTH (COLUMNS=0 once printed nothing). Decided here without
    building a rich Console, which the plain (piped) path never needs."""
    import os

    stream = sys.stdout
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError, OSError):
        terminal = False
    styled = (terminal or bool(os.environ.get("FORCE_COLOR"))) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    width = 0
    columns = os.environ.get("COLUMNS", "")
    if columns.strip().isdigit():
        width = int(columns)
    elif terminal:
        try:
            width = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            width = 0
    return max(width or 80, MIN_WIDTH), styled


def console():
    """A rich console on stdout for what rich draws itself (the receptive-field picture), at `screen()`'s width."""
    import os

    from rich.console import Console

    # rich drops colours for NO_COLOR but still writes bold and other attributes; no-color.org
    # asks for no escape codes at all, so styling goes entirely (rich already does this when piped).
    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}
    return Console(highlight=False, soft_wrap=False, width=screen()[0], **plain)


SpecArgument = Annotated[
    str,
    typer.Argument(
        help="A spec file (YAML), the name of a bundled model such as resnet50 (see `cnncalc models`), or - to read the spec from standard input.",
        show_default=False,
        # Without it some typer/click versions print the parameter's name or type ({spec}, spec <str>) in usage lines.
        metavar="SPEC",
        autocompletion=complete.specs,
    ),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table (for people), json, csv or markdown.", case_sensitive=False),
]
ReadChwOption = Annotated[
    bool,
    typer.Option("--chw", help="Read --input in PyTorch's order, C×H×W (3x224x224); the worked sizes stay H×W×C, as the course notes write them."),
]
InputOption = Annotated[
    Optional[str],
    typer.Option("--input", "-i", help="Override the spec's input size, as HxWxC, e.g. 512x512x3 (table --chw: CxHxW, 3x512x512).", show_default=False, metavar="HxWxC"),
]


@app.command("table")
def table_command(
    spec: SpecArgument,
    depth: Annotated[
        Optional[int],
        typer.Option("--depth", "-d", min=1, max=MAX_INT, help="Collapse blocks nested deeper than N levels into one row with their sums.", show_default=False, metavar="N"),
    ] = None,
    input: InputOption = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, max=MAX_INT, help="Batch size for the memory figures.")] = 1,
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Element type for the memory figures.", case_sensitive=False)] = Dtype.FLOAT32,
    format: FormatOption = OutputFormat.TABLE,
    chw: Annotated[bool, typer.Option("--chw", help="PyTorch's order: read --input as C×H×W (3x224x224) and show shapes as C×H×W.")] = False,
    paths: Annotated[bool, typer.Option("--paths", help="Show each layer's full dotted path (what --layer takes, e.g. layer1.0.conv2) instead of its name in its block.")] = False,
    optimizer: Annotated[
        Optimizer,
        typer.Option("--optimizer", help="For the training footprint: none, sgd, momentum (1 buffer), adam or adamw (2 moments).", case_sensitive=False),
    ] = Optimizer.ADAM,
    master_weights: Annotated[
        bool, typer.Option("--master-weights", help="Mixed precision: add a float32 copy of the trainable parameters, and keep the optimizer state in float32.")
    ] = False,
    columns: Annotated[
        Optional[str],
        typer.Option(
            "--columns", "-c", show_default=False, metavar="LIST",
            help="The columns after the layer's name, in this order, from: kind, input, output, ksp (k/s/p), weights (the weight tensor's shape), params, macs, activations (output elements), memory (bytes saved for backward). Default: kind,output,ksp,params,macs. E.g. --columns input,output,weights,params,activations",
        ),
    ] = None,
    weights: Annotated[
        WeightOrder,
        typer.Option("--weights", help="Order of the weights column: torch (filters×channels×kH×kW, 6×3×5×5) or course (kH×kW×channels×filters, 5×5×3×6).", case_sensitive=False),
    ] = WeightOrder.TORCH,
    show_batch: Annotated[bool, typer.Option("--show-batch", help="Show shapes with the batch dimension first (--batch N: Nx28x28x6).")] = False,
) -> None:
    """Layer by layer: output shape, parameters, MACs; totals and memory.

    Blocks are shown in bold with the sums of their layers; --depth N hides what is nested
    deeper than N levels. Shapes are H×W×C as in the course notes (--chw for PyTorch's order).
    Memory is for --batch samples of --dtype: the inference peak, and for training what autograd
    saves for the backward pass, the gradients and the --optimizer's state. On a narrow terminal the
    k/s/p and kind columns are dropped rather than wrapped; --format markdown/csv/json always have everything.

    Examples:

      cnncalc table resnet50

      cnncalc table resnet50 --depth 1

      cnncalc table my_net.yaml --input 512x512x3 --batch 32 --dtype float16

      cnncalc table resnet50 --batch 64 --dtype bfloat16 --optimizer sgd

      cnncalc table lenet5 --columns input,output,weights,params,activations --weights course

      cnncalc table vgg16 --format json > vgg16.json
    """
    with guarded():
        from cnncalc.core.memory import footprint

        chosen = parse_columns(columns)
        network, analysis = analysed(spec, parse_input_option(input, channels_first=chw, offers_chw=True))
        memory = footprint(analysis, batch, dtype, optimizer, master_weights)
        _emit_analysis(analysis, memory, format=format, depth=depth, chw=chw, paths=paths, columns=chosen, weights=weights, show_batch=show_batch)


def parse_columns(text: str | None):  # -> tuple[TableColumn, ...]
    """`--columns input,output,weights`: the table's columns in that order (each once)."""
    from cnncalc.enums import DEFAULT_COLUMNS
    from cnncalc.errors import OptionProblem
    from cnncalc.words import printable, suggest

    if text is None:
        return DEFAULT_COLUMNS
    names = [part.strip().lower() for part in text.replace(" ", ",").split(",") if part.strip()]
    known = [str(c) for c in TableColumn]
    chosen: list[TableColumn] = []
    for name in names:
        if name not in known:
            mean = suggest(name, known)
            raise OptionProblem(
                f"--columns: `{printable(name)}` is not a column" + (f"; {mean}" if mean else ""),
                hint=f"the columns are {', '.join(known)}, e.g. --columns input,output,weights,params",
            )
        if TableColumn(name) not in chosen:
            chosen.append(TableColumn(name))
    if not chosen:
        raise OptionProblem("--columns names no column", hint=f"the columns are {', '.join(known)}, e.g. --columns input,output,params")
    return tuple(chosen)


def _emit_analysis(analysis, memory, *, format: OutputFormat, depth: int | None, chw: bool, paths: bool, columns, weights: WeightOrder, show_batch: bool) -> None:
    from cnncalc.render import table as render

    if format is OutputFormat.JSON:
        render.write_json(analysis, sys.stdout, depth=depth, memory=memory)
    elif format is OutputFormat.CSV:
        sys.stdout.write(render.to_csv(analysis, depth=depth, chw=chw, memory=memory))
    elif format is OutputFormat.MARKDOWN:
        sys.stdout.write(render.to_markdown(analysis, depth=depth, memory=memory, chw=chw))
    else:
        from cnncalc.render.layout import write

        width, styled = screen()
        lines = render.table_lines(analysis, depth=depth, memory=memory, chw=chw, width=width, paths=paths, columns=columns, weights=weights, show_batch=show_batch)
        write(lines, sys.stdout, styled)


@app.command("models")
def models_command(
    prefix: Annotated[Optional[str], typer.Argument(help="Only the models whose name starts with this, e.g. resnet or efficientnet_b.", show_default=False, metavar="PREFIX")] = None,
    task: Annotated[Optional[Task], typer.Option("--task", "-t", help="Only models for this task.", show_default=False, metavar="TASK")] = None,
    format: FormatOption = OutputFormat.TABLE,
) -> None:
    """The bundled networks by family, with input size, parameters, MACs and where each comes from.

    Use a name wherever a spec file goes (cnncalc table resnet50). Nothing is cut: long descriptions
    wrap; --format json, csv or markdown for other programs.

    Examples:

      cnncalc models

      cnncalc models efficientnet

      cnncalc models --task video --format json
    """
    with guarded():
        import re

        from cnncalc.work import catalog

        # Natural order, so a family reads by size: resnet18, resnet34, ..., resnet152.
        def natural(name: str) -> list:
            return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]

        tasks = [str(t) for t in Task]
        entries = [
            e for e in catalog.listing()
            if (prefix is None or e["name"].startswith(prefix)) and (task is None or e["task"] == str(task))
        ]
        entries.sort(key=lambda e: (tasks.index(e["task"]), e["family"].lower(), natural(e["name"])))
        if format is OutputFormat.JSON:
            import json

            fields = ("name", "family", "task", "input", "params", "macs", "weight_layers", "layers", "description", "reference")
            sys.stdout.write(json.dumps([{k: e[k] for k in fields} for e in entries], indent=2, ensure_ascii=False) + "\n")
            return
        if format in (OutputFormat.CSV, OutputFormat.MARKDOWN):
            if format is OutputFormat.CSV:
                import csv
                import io

                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\n")
                writer.writerow(["name", "family", "task", "input", "params", "macs", "weight_layers", "layers", "description"])
                for e in entries:
                    writer.writerow([e["name"], e["family"], e["task"], e["input_text"], e["params"], e["macs"], e["weight_layers"], e["layers"], e["description"]])
                sys.stdout.write(buffer.getvalue())
            else:
                lines = ["| name | input | weight layers | params | MACs | description |", "|---|---|---:|---:|---:|---|"]
                lines += [f"| {e['name']} | {e['input_text']} | {e['weight_layers']} | {e['params']:,} | {e['macs']:,} | {e['description']} |" for e in entries]
                sys.stdout.write("\n".join(lines) + "\n")
            return
        if not entries:
            sys.stderr.write(f"no bundled model matches{f' {prefix!r}' if prefix else ''}{f' for the task {task}' if task else ''}\n")
            return
        from cnncalc.render import listing
        from cnncalc.render.layout import write

        width, styled = screen()
        write(listing.models_lines(entries, width), sys.stdout, styled)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A bundled model's name (see `cnncalc models`).", show_default=False, metavar="NAME", autocompletion=complete.bundled)],
) -> None:
    """Print a bundled spec's YAML, to read it or to start your own from it.

    Examples:

      cnncalc show resnet50

      cnncalc show vgg16 > my_vgg.yaml

      cnncalc show vgg16 | cnncalc table -
    """
    with guarded():
        from cnncalc.spec import zoo

        from cnncalc.spec.schema import MODELINE

        text = zoo.bundled_text(name)
        sys.stdout.write(f"# cnncalc show {name}: the bundled spec, to edit and run with `cnncalc table FILE`\n")
        sys.stdout.write(MODELINE + "\n")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command("draw")
def draw_command(
    spec: SpecArgument,
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="FILE", show_default=False, help="Where the SVG goes: a file (e.g. -o lenet5.svg), or - for standard output."),
    ],
    style: Annotated[
        Optional[DrawStyle],
        typer.Option("--style", "-s", case_sensitive=False, show_default=False,
                     help="boxes (feature maps as 3-D boxes, the textbook picture) or graph (blocks, branches and skips). Default: boxes for a chain, graph when the spec has merges, from: or side outputs."),
    ] = None,
    depth: Annotated[
        Optional[int],
        typer.Option("--depth", "-d", min=1, max=MAX_INT, show_default=False, metavar="N", help="graph: draw blocks nested deeper than N levels as one box, as `table --depth` does."),
    ] = None,
    highlight: Annotated[
        Optional[str],
        typer.Option("--highlight", show_default=False, metavar="PATH", autocompletion=complete.layer_paths,
                     help="Mark this layer (its path, as `cnncalc table --paths` shows it); in boxes, also the receptive field of one of its units on the input."),
    ] = None,
    input: InputOption = None,
) -> None:
    """Draw a network as an SVG picture, from the same numbers as `table`.

    boxes: each feature map a 3-D box (height ∝ √H, depth ∝ √W, thickness ∝ log₂C) labelled
    with its shape, the layers between them, vectors as bars. graph: every layer or block a
    box with its shape, parameters and MACs, branches side by side, merges, skips. The SVG is
    written by cnncalc itself: no graphviz, no browser, the same spec gives the same bytes.

    Examples:

      cnncalc draw lenet5 -o lenet5.svg

      cnncalc draw alexnet -o alexnet.svg --highlight features.10

      cnncalc draw resnet18 -o resnet18.svg --depth 3

      cnncalc draw googlenet --style graph --depth 2 -o - > googlenet.svg
    """
    with guarded():
        from cnncalc.render import draw

        network, analysis = analysed(spec, parse_input_option(input))
        if highlight is not None and not any(r.path == highlight for r in analysis.rows):
            from cnncalc.work.explain import no_such_layer

            raise no_such_layer(analysis.network.name, highlight, [r.path for r in analysis.rows])
        chosen = style or (DrawStyle.BOXES if draw.is_chain(analysis) else DrawStyle.GRAPH)
        if chosen is DrawStyle.BOXES:
            receptive = None
            if highlight is not None:
                from cnncalc.core.receptive import receptive_fields

                receptive = receptive_fields(network, analysis=analysis)
            svg = draw.draw_boxes(analysis, highlight, receptive)
        else:
            svg = draw.draw_graph(analysis, depth, highlight)
        _write_file(Path(output), svg.encode("utf-8"), text=True)


@app.command("report")
def report_command(
    spec: SpecArgument,
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="FILE", show_default=False, help="Where the page goes, e.g. -o resnet50.html (- for standard output)."),
    ],
    input: InputOption = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, max=MAX_INT, help="Batch size for the memory figures.")] = 1,
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Element type for the memory figures.", case_sensitive=False)] = Dtype.FLOAT32,
) -> None:
    """One self-contained HTML page about a network: the drawing, the full table with foldable blocks,
    totals and memory, the receptive field layer by layer, parameters and MACs per stage, and each
    layer's worked derivation. It needs no network connection: everything is inside the file, and it
    prints with every fold open.

    Examples:

      cnncalc report resnet50 -o resnet50.html

      cnncalc report my_net.yaml -o my_net.html --batch 32 --dtype float16
    """
    with guarded():
        from cnncalc.core.memory import footprint
        from cnncalc.core.receptive import receptive_fields
        from cnncalc.model.layers import Merge
        from cnncalc.render import draw, report
        from cnncalc.work.explain import explain, to_text

        network, analysis = analysed(spec, parse_input_option(input))
        memory = footprint(analysis, batch, dtype)
        fields = receptive_fields(network, analysis=analysis)
        # the report's picture: the boxes of a chain, else the graph two levels deep (the table below has every layer)
        drawing = draw.draw_boxes(analysis) if draw.is_chain(analysis) else draw.draw_graph(analysis, depth=2)
        derivations = {
            row.path: to_text(explain(analysis, row.path, dtype), width=100)
            for row in analysis.leaves()
            if not isinstance(row.node, Merge)
        }
        page = report.render(analysis, memory, fields, drawing, derivations)
        _write_file(Path(output), page.encode("utf-8"), text=True)


@app.command("export")
def export_command(
    spec: SpecArgument,
    to: Annotated[
        ExportTarget,
        typer.Option("--to", case_sensitive=False, help="What to write: pytorch (a Python module of torch.nn classes)."),
    ] = ExportTarget.PYTORCH,
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="FILE", help="Where the code goes, e.g. -o resnet50.py; - for standard output."),
    ] = "-",
    input: InputOption = None,
) -> None:
    """Write a spec as PyTorch code: one nn.Module class per block, nn.Sequential for plain chains,
    the merges, `from:` reads and side outputs written out in forward. Module names are the spec's
    paths, so state_dict() keys equal the table's paths (and torchvision's, for the bundled
    torchvision models: their weights load with strict=True). The file needs only torch.

    Examples:

      cnncalc export resnet50 --to pytorch -o resnet50.py

      cnncalc export my_net.yaml -o my_net.py && cnncalc verify my_net.yaml --module my_net.py:MyNet
    """
    with guarded():
        from cnncalc.render.pytorch import export_pytorch

        network, analysis = analysed(spec, parse_input_option(input))
        origin = f"{network.name} (bundled)" if network.file is None else Path(network.file).name
        code = export_pytorch(analysis, origin, __version__)
        _write_file(Path(output), code.encode("utf-8"), text=True)


@app.command("verify")
def verify_command(
    spec: SpecArgument,
    module: Annotated[
        Optional[str],
        typer.Option("--module", "-m", metavar="FILE.py:CLASS", show_default=False,
                     help="Compare with this class of a Python file (built without arguments), e.g. --module resnet50.py:Resnet50."),
    ] = None,
    torch_callable: Annotated[
        Optional[str],
        typer.Option("--torch", "-t", metavar="PACKAGE.MODULE:CALLABLE", show_default=False,
                     help="Compare with what this callable returns, e.g. --torch torchvision.models:resnet50."),
    ] = None,
    input: InputOption = None,
    format: Annotated[
        VerifyFormat,
        typer.Option("--format", "-f", case_sensitive=False, help="text (a report), or json (for scripts: agrees, totals, differences)."),
    ] = VerifyFormat.TEXT,
) -> None:
    """Check a real PyTorch model against the spec: every layer's output shape, parameters and MACs,
    and the totals (parameters, MACs, FLOPs from torch.utils.flop_counter = 2 x MACs). The model runs
    on torch's meta device: no weights in memory, no arithmetic. Without --module or --torch, the
    spec's own exported code (`cnncalc export`) is checked. Needs torch (pip install 'cnncalc[torch]').
    Exit 0 when everything agrees, 1 when something differs (listed), 2 for bad input.

    Examples:

      cnncalc verify resnet50 --torch torchvision.models:resnet50

      cnncalc verify my_net.yaml --module my_net.py:MyNet

      cnncalc verify lenet5 --format json
    """
    with guarded():
        if module is not None and torch_callable is not None:
            from cnncalc.errors import OptionProblem

            raise OptionProblem("--module and --torch name the model to compare with; give one of them", hint="e.g. --torch torchvision.models:resnet50")
        _needs_torch("verify")
        from cnncalc.bridge import verify
        from cnncalc.render import pytorch
        from cnncalc.render.verdict import render_verdict

        network, analysis = analysed(spec, parse_input_option(input))
        if module is not None:
            model, against = verify.from_file(module), module
        elif torch_callable is not None:
            model, against = verify.from_callable(torch_callable), torch_callable
        else:
            code = pytorch.export_pytorch(analysis, network.name, __version__)
            model, against = verify.from_source(code, pytorch.class_name(network.name)), "its exported PyTorch code"
        verdict = verify.compare(analysis, model)
        if format is VerifyFormat.JSON:
            from cnncalc.render.verdict import verdict_json

            sys.stdout.write(verdict_json(network.name, against, verdict))
        else:
            sys.stdout.write(render_verdict(network.name, against, verdict))
        if not verdict.agrees:
            raise typer.Exit(1)


@app.command("import")
def import_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", show_default=False,
                                          help="package.module:callable (e.g. torchvision.models:resnet50, built without arguments), or a model.onnx file.")],
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="FILE", help="Where the spec goes, e.g. -o resnet50.yaml; - for standard output."),
    ] = "-",
    input: Annotated[
        Optional[str],
        typer.Option("--input", "-i", metavar="HxWxC", show_default=False,
                     help="The input, in cnncalc's order (sizes, then channels). Default: 224x224x3 for a torch model, the graph's own for ONNX."),
    ] = None,
    name: Annotated[Optional[str], typer.Option("--name", show_default=False, help="The spec's name (default: the callable's or the file's).")] = None,
) -> None:
    """Write a spec from a PyTorch model or an ONNX file. A torch model is traced with torch.fx on the
    meta device (no weights, no data): each module call becomes its cnncalc kind under the module's
    path, `+`, `torch.cat` and `*` become add, concat and multiply. An ONNX graph (pip install
    'cnncalc[onnx]') is read node by node the same way, so Keras and TensorFlow models exported with
    tf2onnx can be analysed too. Anything without a cnncalc kind is listed and nothing is written (exit 2).

    Examples:

      cnncalc import torchvision.models:resnet50 -o resnet50.yaml

      cnncalc import model.onnx -o model.yaml

      cnncalc import my_models:Net --input 32x32x3 -o net.yaml && cnncalc verify net.yaml --torch my_models:Net
    """
    with guarded():
        from cnncalc.errors import CnnCalcError
        from cnncalc.render.specfile import write_spec

        shape = parse_input_option(input)
        if source.lower().endswith(".onnx"):
            _needs("onnx", "import an ONNX file", "onnx")
            from cnncalc.bridge import onnx_import

            imported = onnx_import.import_onnx(source)
            size = imported.input_size
            if shape is None and (len(size) < 2 or any(n <= 0 for n in size)):
                raise CnnCalcError(
                    f"{source}'s input has sizes the graph does not fix ({'x'.join(str(n) if n > 0 else '?' for n in size)}, torch's order without the batch)",
                    hint="give the input with --input, e.g. --input 224x224x3",
                )
            if shape is None:
                from cnncalc.model.shapes import Spatial, Vector

                shape = Spatial(*size[1:], size[0]) if len(size) > 1 else Vector(*size)
            default_name = Path(source).stem
        else:
            _needs_torch("import")
            from cnncalc.bridge import fx_import, verify

            if shape is None:
                shape = parse_input_option("224x224x3")
            imported = fx_import.import_model(verify.from_callable(source), tuple(shape.torch_size()))
            default_name = source.rpartition(":")[2]
        items, unsupported = imported.items, imported.unsupported
        if unsupported:
            listed = "; ".join(unsupported[:8]) + ("; …" if len(unsupported) > 8 else "")
            raise CnnCalcError(
                f"unsupported: {len(unsupported)} node{'s' if len(unsupported) != 1 else ''} without a cnncalc kind — {listed}",
                hint="nothing was written: a spec that silently differs from the model would mislead; write those layers by hand",
            )
        if not items:
            raise CnnCalcError(
                f"{source} computes nothing cnncalc has a kind for: its output is its input",
                hint="import a model with layers, e.g. torchvision.models:resnet50",
            )
        spec_name = name or default_name.replace(".", "_")
        renamed: list[str] = []
        text = write_spec(spec_name, shape.hwc(), f"imported from {source} by cnncalc import", items, imported.sides, renamed, imported.classes)
        _write_file(Path(output), text.encode("utf-8"), text=True)
        if renamed:
            sys.stderr.write(
                f"note: {len(renamed)} layer{'s' if len(renamed) != 1 else ''} named by their whole path ({renamed[0]}{', …' if len(renamed) > 1 else ''}): "
                "their module group is split by merges, and a spec names a group once\n"
            )


def _needs_torch(command: str) -> None:
    _needs("torch", f"`cnncalc {command}` builds the network with torch", "torch")


def _needs(package: str, what: str, extra: str) -> None:
    """A clear exit 2 when an optional package is missing, before anything imports it."""
    import importlib.util

    from cnncalc.errors import CnnCalcError

    if importlib.util.find_spec(package) is None:
        raise CnnCalcError(
            f"{what}, which needs {package}; it is not installed here",
            hint=f"pip install 'cnncalc[{extra}]' ({package} is optional: the other commands work without it)",
        )


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of spec files, for completion and checking in editors.

    Draft-07, as the YAML extension of VS Code and JetBrains' editors read it (yaml-language-server).
    Save it next to your specs and start each spec with the line that `cnncalc show` prints:
    # yaml-language-server: $schema=cnncalc.schema.json
    The schema is generated from the layer kinds themselves; what it cannot say (sizes that do not
    fit, names of your own blocks) `cnncalc check` still checks.

    Examples:

      cnncalc schema > cnncalc.schema.json
    """
    with guarded():
        import json

        from cnncalc.spec.schema import spec_schema

        sys.stdout.write(json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n")


@app.command("check")
def check_command(
    specs: Annotated[list[str], typer.Argument(help="One or more spec files or bundled names.", show_default=False, metavar="SPECS...", autocompletion=complete.specs)],
    input: InputOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing when every spec is fine (the exit code says it).")
    ] = False,
) -> None:
    """Validate specs with every check `table` makes, without printing tables: for editors and CI.

    Every spec is checked. Errors and warnings go to stderr as FILE:LINE:COLUMN: layer PATH: message;
    the exit code is 0 when all specs are fine (warnings allowed) and 2 when any has an error, and then
    nothing is printed on stdout. On success each spec gets one line: NAME: ok (layers, params).

    Examples:

      cnncalc check my_net.yaml && echo ok

      cnncalc check --quiet specs/*.yaml
    """
    with guarded():
        from cnncalc.errors import CnnCalcError
        from cnncalc.words import printable

        shape = parse_input_option(input)
        lines, failed = [], 0
        for spec in specs:
            try:
                network, analysis = analysed(spec, shape)
            except CnnCalcError as exc:
                print(exc.render(), file=sys.stderr)
                failed += 1
                continue
            count = len(analysis.warnings)
            warned = f", {count} warning{'s' if count != 1 else ''}" if count else ""
            layers, weighted = len(analysis.leaves()), analysis.weight_layers
            lines.append(
                f"{printable(spec)}: ok ({weighted:,} conv/fc of {layers:,} layer{'s' if layers != 1 else ''}, "
                f"{analysis.totals.params:,} params{warned})"
            )
        if failed:
            if len(specs) > 1:
                print(f"{failed} of {len(specs)} specs have errors", file=sys.stderr)
            raise typer.Exit(EXIT_USER_ERROR)
        if not quiet:
            print("\n".join(lines))  # one line per spec, however long its path: scripts read them as records


# --------------------------------------------------------------------------- show your work: layer, explain, solve, compare

_LAYER_VALUE_SPLIT = r"\s*[x×X,]\s*|\s+"


def _layer_option_value(text: str, flag: str = "option"):
    """A command-line value as YAML would read it: `7` → 7, `2x3` or `2,3` → [2, 3], `1,1,2,2` → 4 numbers, `same` → text.

    Numbers are ASCII digits, as in YAML (`١٢` or `²` stay text, for the option's check to refuse), of at
    most the digits a spec may have."""
    import re

    from cnncalc.errors import OptionProblem
    from cnncalc.spec.safe_yaml import MAX_NUMBER_DIGITS

    def scalar(part: str):
        number = re.fullmatch(r"[+-]?([0-9]+)(\.[0-9]*)?([eE][-+]?[0-9]+)?|[+-]?\.[0-9]+([eE][-+]?[0-9]+)?", part)
        if number is None:
            if part.lower().lstrip("+-") in ("inf", ".inf", "infinity", "nan", ".nan"):
                return float(part.replace(".", ""))
            return part
        digits = sum(c.isdigit() for c in part)
        if digits > MAX_NUMBER_DIGITS:
            raise OptionProblem(
                f"{flag}: this number has {digits:,} digits; cnncalc reads numbers of at most {MAX_NUMBER_DIGITS} digits",
                hint="sizes fit in 19 digits (torch's int64 limit is 9,223,372,036,854,775,807)",
            )
        if re.fullmatch(r"[+-]?[0-9]+", part):
            return int(part)
        return float(part)

    stripped = text.strip().strip("[]()").strip()
    parts = [p for p in re.split(_LAYER_VALUE_SPLIT, stripped) if p]
    if len(parts) > 1:
        return [scalar(p) for p in parts]
    return scalar(stripped)


def _emit_worked(worked, format: WorkFormat) -> None:
    from cnncalc.work import explain

    if format is WorkFormat.JSON:
        import json

        sys.stdout.write(json.dumps(worked.as_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        # Lines wrap at the screen's width (80 when piped, as every table), with a hanging indent.
        sys.stdout.write(explain.to_text(worked, width=screen()[0]))


WorkFormatOption = Annotated[
    WorkFormat,
    typer.Option("--format", "-f", help="table (worked text, the default) or json.", case_sensitive=False),
]
def _geometry(help: str) -> object:
    return typer.Option(help=help, show_default=False)


@app.command("layer")
def layer_command(
    kind: Annotated[str, typer.Argument(help="The layer kind, as in a spec: conv, conv_transpose, maxpool, avgpool, fc, batchnorm, …", show_default=False, metavar="KIND", autocompletion=complete.kinds)],
    input: Annotated[str, typer.Option("--input", "-i", help="The input, HxWxC (e.g. 63x63x16), LxC for a 1-D signal (8000x1), DxHxWxC for a volume, or a number of features.", show_default=False)],
    filters: Annotated[Optional[str], _geometry("conv, conv_transpose: number of filters k (output channels).")] = None,
    kernel: Annotated[Optional[str], _geometry("Kernel size f: a number, or HxW / h,w.")] = None,
    stride: Annotated[Optional[str], _geometry("Stride s: a number or HxW (default 1; pools: the kernel).")] = None,
    padding: Annotated[Optional[str], _geometry("Padding p: a number, HxW, top,bottom,left,right, same or valid (default 0).")] = None,
    dilation: Annotated[Optional[str], _geometry("Dilation d (default 1).")] = None,
    groups: Annotated[Optional[str], _geometry("conv: groups g (default 1).")] = None,
    output_padding: Annotated[Optional[str], typer.Option("--output-padding", help="conv_transpose: extra pixels after (default 0, < stride).", show_default=False)] = None,
    units: Annotated[Optional[str], _geometry("fc: output features (a feature map input is flattened first).")] = None,
    output_size: Annotated[Optional[str], typer.Option("--output-size", help="adaptive_avgpool: output size.", show_default=False)] = None,
    size: Annotated[Optional[str], _geometry("upsample: output size HxW; lrn: neighbourhood size.")] = None,
    scale: Annotated[Optional[str], _geometry("upsample: scale factor.")] = None,
    mode: Annotated[Optional[str], _geometry("upsample: nearest, bilinear or bicubic.")] = None,
    p: Annotated[Optional[str], typer.Option("--p", help="dropout: probability.", show_default=False)] = None,
    bias: Annotated[Optional[bool], typer.Option("--bias/--no-bias", help="conv, conv_transpose, fc: learn a bias per output (default: yes).", show_default=False)] = None,
    ceil_mode: Annotated[Optional[bool], typer.Option("--ceil-mode/--no-ceil-mode", help="pools: round the output size up (default: down).", show_default=False)] = None,
    affine: Annotated[Optional[bool], typer.Option("--affine/--no-affine", help="batchnorm: learn γ and β (default: yes).", show_default=False)] = None,
    track_running_stats: Annotated[Optional[bool], typer.Option("--track-running-stats/--no-track-running-stats", help="batchnorm: keep running mean and variance.", show_default=False)] = None,
    trainable: Annotated[Optional[bool], typer.Option("--trainable/--frozen", help="Count the weights as trainable (default) or frozen.", show_default=False)] = None,
    chw: ReadChwOption = False,
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Element type for the activation bytes.", case_sensitive=False)] = Dtype.FLOAT32,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """One layer, worked out: output shape, parameters, MACs, activations, each formula with the numbers in.

    The options are the spec's (README, "The spec format"), with - for _; they are checked exactly as in a spec.

    Examples:

      cnncalc layer conv --input 63x63x16 --filters 32 --kernel 7 --stride 2

      cnncalc layer maxpool --input 32x32x16 --kernel 2 --stride 2

      cnncalc layer fc --input 300x300x3 --units 100

      cnncalc layer conv_transpose --input 4x4x8 --filters 4 --kernel 3 --stride 2 --padding 1 --output-padding 1
    """
    with guarded():
        import re

        from cnncalc.work import explain
        from cnncalc.errors import CnnCalcError
        from cnncalc.spec.parse import parse_layer

        shape = parse_input_option(input, channels_first=chw, offers_chw=True)
        given = {
            "filters": filters,
            "kernel": kernel,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
            "output_padding": output_padding,
            "units": units,
            "output_size": output_size,
            "size": size,
            "scale": scale,
            "mode": mode,
            "p": p,
        }
        options = {key: _layer_option_value(value, "--" + key.replace("_", "-")) for key, value in given.items() if value is not None}
        flags = {"bias": bias, "ceil_mode": ceil_mode, "affine": affine, "track_running_stats": track_running_stats, "trainable": trainable}
        options.update({key: value for key, value in flags.items() if value is not None})
        try:
            layer = parse_layer(kind, options, shape)
        except CnnCalcError as exc:
            # The spec's message, with the command-line spelling of a missing option added to its hint.
            missing = re.fullmatch(r"\S+ needs `(\w+)`", exc.message)
            if not missing:
                raise
            flag = "--" + missing.group(1).replace("_", "-")
            raise exc.replaced(hint=f"{exc.hint}; on the command line: {flag} VALUE" if exc.hint else f"add {flag} VALUE") from None
        worked = explain.single_layer(layer, shape, dtype)
        print_warnings(worked.warnings)  # as `table` does for the same layer in a spec
        _emit_worked(worked, format)


@app.command("explain")
def explain_command(
    spec: SpecArgument,
    layer: Annotated[str, typer.Option("--layer", "-l", help="The layer's path, as `cnncalc table` shows it (e.g. layer1.0.conv2).", show_default=False, metavar="PATH", autocompletion=complete.layer_paths)],
    input: InputOption = None,
    chw: ReadChwOption = False,
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Element type for the activation bytes.", case_sensitive=False)] = Dtype.FLOAT32,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """The worked derivation of one layer of a network, its input taken from the layers before it.

    A merge shows why concat adds the channels and add needs equal shapes; a block shows the sums of its contents.

    Examples:

      cnncalc explain resnet50 --layer layer1.0.conv2

      cnncalc explain resnet50 --layer layer1.0.add

      cnncalc explain my_net.yaml --layer features.3 --format json
    """
    with guarded():
        from cnncalc.work import explain

        network, analysis = analysed(spec, parse_input_option(input, channels_first=chw, offers_chw=True))
        _emit_worked(explain.explain(analysis, layer, dtype), format)


solve_app = typer.Typer(
    name="solve",
    no_args_is_help=True,
    rich_markup_mode=None,
    help=(
        "Inverse problems: the padding, stride or kernel that gives a wanted output size, and the output_padding "
        "that lets a transposed conv undo a conv. Sizes are along one axis; every solution is listed.\n\n"
        "Example: cnncalc solve padding --input 32 --kernel 5"
    ),
)
app.add_typer(solve_app)

_Length = Annotated[int, typer.Option("--input", "-i", min=1, max=MAX_INT, help="Input size n along one axis (e.g. 32).", show_default=False)]
_Kernel = Annotated[int, typer.Option("--kernel", "-k", min=1, max=MAX_INT, help="Kernel size f.", show_default=False)]
_Dilation = Annotated[int, typer.Option("--dilation", min=1, max=MAX_INT, help="Dilation d.")]


@solve_app.command("padding")
def solve_padding_command(
    input: _Length,
    kernel: _Kernel,
    stride: Annotated[int, typer.Option("--stride", "-s", min=1, max=MAX_INT, help="Stride s.")] = 1,
    output: Annotated[Optional[int], typer.Option("--output", "-o", min=1, max=MAX_INT, help="Wanted output size (default: 'same', ⌈n/s⌉).", show_default=False)] = None,
    dilation: _Dilation = 1,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """The padding that gives a wanted output size (default: keeps the size, "same"), symmetric or not.

    Examples:

      cnncalc solve padding --input 32 --kernel 5

      cnncalc solve padding --input 32 --kernel 4

      cnncalc solve padding --input 32 --kernel 5 --stride 2 --output 16
    """
    with guarded():
        from cnncalc.work import solve

        _emit_worked(solve.padding(input, kernel, stride, dilation, output), format)


@solve_app.command("stride")
def solve_stride_command(
    input: _Length,
    kernel: _Kernel,
    output: Annotated[int, typer.Option("--output", "-o", min=1, max=MAX_INT, help="Wanted output size.", show_default=False)],
    padding: Annotated[int, typer.Option("--padding", "-p", min=0, max=MAX_INT, help="Padding p on each side.")] = 0,
    dilation: _Dilation = 1,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """Every stride that takes n to the wanted output size, marking those where the division is not exact.

    Example:

      cnncalc solve stride --input 63 --kernel 7 --output 29
    """
    with guarded():
        from cnncalc.work import solve

        _emit_worked(solve.stride(input, kernel, output, padding, dilation), format)


@solve_app.command("kernel")
def solve_kernel_command(
    input: _Length,
    output: Annotated[int, typer.Option("--output", "-o", min=1, max=MAX_INT, help="Wanted output size.", show_default=False)],
    stride: Annotated[int, typer.Option("--stride", "-s", min=1, max=MAX_INT, help="Stride s.")] = 1,
    padding: Annotated[int, typer.Option("--padding", "-p", min=0, max=MAX_INT, help="Padding p on each side.")] = 0,
    dilation: _Dilation = 1,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """Every kernel size that takes n to the wanted output size.

    Example:

      cnncalc solve kernel --input 32 --output 28
    """
    with guarded():
        from cnncalc.work import solve

        _emit_worked(solve.kernel(input, output, stride, padding, dilation), format)


@solve_app.command("output-padding")
def solve_output_padding_command(
    input: Annotated[int, typer.Option("--input", "-i", min=1, max=MAX_INT, help="Input size n of the conv to undo (the size to get back).", show_default=False)],
    kernel: _Kernel,
    stride: Annotated[int, typer.Option("--stride", "-s", min=1, max=MAX_INT, help="Stride s of the conv (and of the transposed conv).", show_default=False)],
    padding: Annotated[int, typer.Option("--padding", "-p", min=0, max=MAX_INT, help="Padding p of the conv (and of the transposed conv).")] = 0,
    dilation: _Dilation = 1,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """The output_padding a ConvTranspose2d with the same f, s, p needs to map a conv's output back to n.

    Example:

      cnncalc solve output-padding --input 8 --kernel 3 --stride 2 --padding 1
    """
    with guarded():
        from cnncalc.work import solve

        _emit_worked(solve.output_padding(input, kernel, stride, padding, dilation), format)


compare_app = typer.Typer(
    name="compare",
    no_args_is_help=True,
    rich_markup_mode=None,
    help=(
        "Parameters and MACs of two designs side by side: a 1x1 bottleneck versus a direct conv, "
        "or stacked 3x3 convs versus one large conv.\n\n"
        "Example: cnncalc compare bottleneck --input 28x28x192 --filters 32 --kernel 5 --via 16"
    ),
)
app.add_typer(compare_app)


def _feature_map(text: str):
    from cnncalc.errors import OptionProblem
    from cnncalc.model.shapes import Spatial

    shape = parse_input_option(text)
    if not isinstance(shape, Spatial):
        raise OptionProblem(f"--input: compare needs a feature map HxWxC; got {text!r}", hint="e.g. --input 28x28x192")
    return shape


@compare_app.command("bottleneck")
def compare_bottleneck_command(
    input: Annotated[str, typer.Option("--input", "-i", help="The input, HxWxC (e.g. 28x28x192).", show_default=False)],
    filters: Annotated[int, typer.Option("--filters", min=1, max=MAX_INT, help="Output channels of the k×k conv.", show_default=False)],
    kernel: Annotated[int, typer.Option("--kernel", "-k", min=1, max=MAX_INT, help="Kernel size of the expensive conv.", show_default=False)],
    via: Annotated[int, typer.Option("--via", min=1, max=MAX_INT, help="Channels after the 1×1 conv (the bottleneck width).", show_default=False)],
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding of the k×k conv: a number, same or valid.")] = "same",
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Count biases in the parameters.")] = True,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """A k×k conv directly, versus a 1×1 conv down to --via channels first (Inception's bottleneck).

    Example (the course notes' 28×28×192 → 5×5 conv, 32 filters, through 16 channels):

      cnncalc compare bottleneck --input 28x28x192 --filters 32 --kernel 5 --via 16
    """
    with guarded():
        from cnncalc.work import compare
        from cnncalc.spec.parse import parse_layer

        # The k×k conv's padding is checked as a spec's would be.
        pad = parse_layer("conv", {"filters": filters, "kernel": kernel, "padding": _layer_option_value(padding, "--padding")}).padding
        worked = compare.bottleneck(_feature_map(input), filters, kernel, via, bias, pad)
        print_warnings(worked.warnings)
        _emit_worked(worked, format)


@compare_app.command("stack")
def compare_stack_command(
    input: Annotated[str, typer.Option("--input", "-i", help="The input, HxWxC; every conv keeps C channels.", show_default=False)],
    kernel: Annotated[int, typer.Option("--kernel", "-k", min=1, max=MAX_INT, help="The large kernel (5, 7, …).", show_default=False)],
    small: Annotated[int, typer.Option("--small", min=2, max=MAX_INT, help="The small kernel of the stack.")] = 3,
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Count biases in the parameters.")] = True,
    format: WorkFormatOption = WorkFormat.TABLE,
) -> None:
    """Stacked small convs versus one large conv with the same receptive field (VGG: 2 × 3×3 ~ 5×5, 3 × 3×3 ~ 7×7).

    Examples:

      cnncalc compare stack --input 56x56x64 --kernel 5

      cnncalc compare stack --input 56x56x64 --kernel 7
    """
    with guarded():
        from cnncalc.work import compare

        worked = compare.stack(_feature_map(input), kernel, small, bias=bias)
        print_warnings(worked.warnings)
        _emit_worked(worked, format)


@app.command("receptive-field")
def receptive_field_command(
    spec: SpecArgument,
    layer: Annotated[
        Optional[str],
        typer.Option("--layer", "-l", help="Only this layer (its path, as in the table), with its recurrence and a picture.", show_default=False, metavar="PATH", autocompletion=complete.layer_paths),
    ] = None,
    input: InputOption = None,
    chw: ReadChwOption = False,
    format: FormatOption = OutputFormat.TABLE,
    explain: Annotated[
        bool, typer.Option("--explain", "-e", help="Show each layer's recurrence with its numbers, and the closed form 1 + L(k − 1) of stride-1 stacks.")
    ] = False,
    draw: Annotated[
        bool, typer.Option("--draw", help="Draw how one unit's field grows over the input (the last layer, or --layer).")
    ] = False,
) -> None:
    """Receptive field r, effective stride S and effective padding P of every layer, per axis.

    Unit i of a layer sees input rows (columns) i·S − P … i·S − P + r − 1. Branches (add,
    concat) are followed on every path; layers past which no single r, S, P exists
    (upsampling, strided transposed convolutions) say why instead of printing a number.

    Examples:

      cnncalc receptive-field vgg16

      cnncalc receptive-field resnet50 --layer layer4.2.add

      cnncalc receptive-field my_net.yaml --explain --input 64x64x3

      cnncalc receptive-field vgg16 --format json
    """
    with guarded():
        from cnncalc.core.receptive import receptive_fields

        network, analysis = analysed(spec, parse_input_option(input, channels_first=chw, offers_chw=True))
        fields_report = receptive_fields(network, analysis=analysis)
        _emit_receptive(fields_report, network, spec, layer=layer, format=format, explain=explain, draw=draw)


def _emit_receptive(report, network, spec: str, *, layer: str | None, format: OutputFormat, explain: bool, draw: bool) -> None:
    from cnncalc.errors import OptionProblem
    from cnncalc.render import receptive as rr

    if not report.spatial:
        raise OptionProblem(
            f"{report.name}'s input is a vector of {report.input.features} features: there is no spatial receptive field",
            hint="receptive fields need a feature-map input, HxWxC (e.g. --input 32x32x3)",
        )
    fields = report.leaves()
    target = rr.default_picture_target(report)
    if layer is not None:
        target = report.find(layer)
        if target is None:
            from cnncalc.work.explain import no_such_layer

            raise no_such_layer(report.name, layer, [f.path for f in report.layers])
        fields = (target,)
    if format is OutputFormat.JSON:
        rr.write_json(report, fields, sys.stdout, explain=explain)
        return
    if format is OutputFormat.CSV:
        sys.stdout.write(rr.to_csv(fields))
        return
    if format is OutputFormat.MARKDOWN:
        sys.stdout.write(rr.to_markdown(report, fields))
        return
    from cnncalc.render.layout import write

    width, styled = screen()
    write(rr.table_lines(report, fields, width=width), sys.stdout, styled)
    if explain or layer is not None:
        sys.stdout.write("\n" + rr.explain_text(report, fields, width=width))
    if (draw or layer is not None) and target is not None:
        out = console()  # the picture is coloured on a terminal
        out.print()
        out.print(rr.picture(report, network, target, width=min(width, 100)))


@app.command("quiz")
def quiz_command(
    topic: Annotated[
        Optional[list[QuizTopic]],
        typer.Option(
            "--topic", "-t", case_sensitive=False, show_default=False,
            help="Only these topics (repeat the option for several); all of them by default.",
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=100_000, help="How many problems.")] = 10,
    difficulty: Annotated[
        Difficulty,
        typer.Option("--difficulty", "-d", case_sensitive=False, help="easy, medium, or hard (non-square sizes, dilation, chains of layers, find-the-missing problems)."),
    ] = Difficulty.MEDIUM,
    seed: Annotated[
        Optional[int], typer.Option("--seed", "-s", min=0, max=MAX_INT, help="Same seed and options, same problems (the seed used is printed).", show_default=False)
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", "-l", case_sensitive=False, help="Language of the questions: en or ko (한국어).")] = Lang.EN,
    format: Annotated[
        Optional[QuizFormat],
        typer.Option(
            "--format", "-f", case_sensitive=False, show_default=False,
            help="Write the set instead of asking: text (answers under each question), markdown (worksheet, then answer key), json; "
            "for a course platform moodle (Moodle XML), gift, qti (a Canvas zip) or anki (an .apkg deck), the last two with --output.",
        ),
    ] = None,
    output: Annotated[
        Optional[str],  # not a typer Path: it stats the name first, which a NUL in it turns into a crash
        typer.Option(
            "--output", "-o", show_default=False, metavar="FILE",
            help="Write the set to FILE instead of standard output (whole or not at all), e.g. -o quiz.zip.",
        ),
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", "-i", help="Ask and grade even when stdin is not a terminal: answers are read line by line until end of input."),
    ] = False,
    spec: Annotated[
        Optional[str],
        typer.Option(
            "--spec", show_default=False, metavar="SPEC", autocompletion=complete.specs,
            help="Ask about this network's layers (a spec file or a bundled name): output shapes, parameters, MACs, "
            "receptive fields, memory kept for backward, e.g. --spec resnet18.",
        ),
    ] = None,
    in_order: Annotated[
        bool,
        typer.Option("--in-order", help="With --spec, ask layer by layer from the input instead of at random."),
    ] = False,
) -> None:
    """Practice problems on CNN arithmetic, answered and explained by the same engine as `table`.

    On a terminal it asks one problem at a time, grades your answer (29x29x32, 29 29 32,
    25,120, true, B ...), shows the worked solution when you miss, and keeps score;
    an empty line skips, q or Ctrl-D ends. When stdin is not a terminal (a pipe, CI) and no
    --format is given, it prints the problems with answers and solutions instead of waiting.

    Topics: conv, pool, transposed, padding, params, macs, activations, receptive-field,
    pool-facts, network, memory.

    Examples:

      cnncalc quiz

      cnncalc quiz --topic params --topic macs --difficulty hard --lang ko

      cnncalc quiz --count 20 --seed 7 --format markdown > worksheet.md

      cnncalc quiz -n 20 --seed 3 --format moodle -o cnn-quiz.xml

      cnncalc quiz -n 20 --seed 3 --format qti -o cnn-quiz.zip

      cnncalc quiz --spec resnet18 -n 10
    """
    with guarded():
        import random

        from cnncalc.quiz import problems as quiz
        from cnncalc.errors import OptionProblem

        if interactive and (format is not None or output is not None):
            raise OptionProblem("--interactive asks and grades, --format and --output write a worksheet: give one of them", hint="drop one of the two options")
        if format is not None and format.binary and output is None:
            raise OptionProblem(f"--format {format} writes a zip file; say where with --output", hint=f"e.g. `-o quiz.{'zip' if format is QuizFormat.QTI else 'apkg'}`")
        if format is QuizFormat.ANKI:
            import importlib.util

            if importlib.util.find_spec("genanki") is None:
                raise OptionProblem("--format anki needs the genanki package, which is not installed", hint="pip install 'cnncalc[anki]' (or pip install genanki)")
        if spec is not None and topic:
            raise OptionProblem("--spec asks about that network's layers and --topic picks made-up problems: give one of them", hint="drop --topic, or --spec")
        if in_order and spec is None:
            raise OptionProblem("--in-order walks the layers of the network given with --spec", hint="add --spec SPEC, e.g. --spec resnet18")
        used_seed = seed if seed is not None else random.randrange(1_000_000)
        if spec is not None:
            problems = quiz.iter_spec_problems(_spec_problems(spec), count, used_seed, in_order)
        else:
            topics = tuple(topic) if topic else tuple(QuizTopic)
            problems = quiz.iter_problems(quiz.QuizOptions(topics=topics, count=count, difficulty=difficulty, seed=used_seed))
        stdin_is_terminal = sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty()
        if format is None and output is None and (interactive or stdin_is_terminal):
            _quiz_session(list(problems), lang, None if spec else difficulty, used_seed, echo=not stdin_is_terminal)
            return
        _write_quiz(problems, format or QuizFormat.TEXT, lang, None if spec else difficulty, used_seed, count, None if output is None else Path(output))


def _spec_problems(spec: str) -> list:
    """Every problem `quiz --spec` can ask about a spec's network, named as a course names it (LeNet-5)."""
    from cnncalc.quiz import problems as quiz

    network, _ = analysed(spec)
    title = quiz.NETWORKS.get(spec, network.name or spec)
    problems = quiz.spec_problems(network, title, spec)
    if not problems:
        from cnncalc.errors import OptionProblem

        raise OptionProblem(
            f"{spec} has no convolution, pooling or fully connected layer on images to ask about",
            hint="quiz --spec asks about the conv, pool and fc layers of 2-D networks; try --spec lenet5",
        )
    return problems


def _write_quiz(problems, format: QuizFormat, lang: Lang, difficulty: Difficulty | None, seed: int, count: int, output: Path | None) -> None:
    """Each problem is written as it is drawn, to a spool that stays in memory while small and moves to a
    temporary file beyond SPOOL_BYTES, and the spool goes to stdout or `output` at the end: a set of 100,000
    never sits in memory whole, and a set that cannot be completed writes nothing."""
    import shutil
    import tempfile

    from cnncalc.quiz import text as quiz_render

    title = quiz_render.header(lang, difficulty, seed, count).split(" (")[0]
    if format in (QuizFormat.MOODLE, QuizFormat.GIFT) or format.binary:
        # only for the course platforms' formats: it imports zipfile, html and xml.sax (which brings
        # urllib.request, ssl and email along), 25–30 ms that text, Markdown and JSON sets do not need
        from cnncalc.quiz import lms
    if format.binary:
        problems = list(problems)
        data = lms.qti_zip(problems, lang, title) if format is QuizFormat.QTI else lms.anki_package(problems, lang, title)
        _write_file(output, data)
        return

    def spool():
        return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline="")

    with spool() as out:
        if format is QuizFormat.JSON:
            quiz_render.write_json(problems, lang, out)
        elif format is QuizFormat.MARKDOWN:
            with spool() as key:
                quiz_render.write_markdown(problems, lang, difficulty, seed, count, out, key)
        elif format is QuizFormat.MOODLE:
            lms.write_moodle(problems, lang, out)
        elif format is QuizFormat.GIFT:
            lms.write_gift(problems, lang, out)
        else:
            from cnncalc.render.layout import fold

            width = screen()[0]
            quiz_render.write_text(problems, lang, difficulty, seed, count, out, fold=lambda text: fold(text, width))
        out.seek(0)
        if output is None or str(output) == "-":
            shutil.copyfileobj(out, sys.stdout)
        else:
            _write_file(output, out.read().encode("utf-8"))


def _write_file(path: Path, data: bytes, text: bool = False) -> None:
    """`data` to `path`, whole or not at all: a temporary file beside it, then renamed over it; `-` is standard
    output (binary data only when that is not a terminal)."""
    import os
    import tempfile

    from cnncalc.errors import FileProblem
    from cnncalc.words import quote

    if str(path) == "-":  # `-o -`: standard output, as for text (a zip only when it is not a terminal)
        if sys.stdout.isatty() and not text:
            raise FileProblem("a zip file is not for a terminal", hint="redirect it (`> quiz.zip`) or give a file name with -o")
        from cnncalc.cli import streams

        try:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as error:  # a closed pipe, a full disk: reported as for any output
            raise streams.OutputFault(error, "stdout") from None
        return
    if "\0" in str(path):
        raise FileProblem(f"{quote(str(path), 80)} is not a file name (it holds a NUL character)", hint="check the name given with -o")
    import stat

    try:
        path = Path(os.path.realpath(path))  # a symlink is written through, never replaced by a file
        existing = os.stat(path).st_mode
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise FileProblem(f"cannot write {path}: {exc.strerror or exc}", hint="check the path given with -o") from None
    if existing is not None and not stat.S_ISREG(existing) and not stat.S_ISDIR(existing):
        # a device or a pipe (/dev/null, /dev/stdout, a FIFO): written to as it is; renaming a file over it
        # would replace the device itself
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise FileProblem(f"cannot write {path}: {exc.strerror or exc}", hint="check the path given with -o") from None
        return
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(data)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # as a plain `open` would create it (mkstemp makes 0600)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise FileProblem(f"cannot write {path}: {exc.strerror or exc}", hint="check the folder exists and you may write there") from None


SPOOL_BYTES = 8 * 1024 * 1024


def _quiz_session(problems, lang: Lang, difficulty: Difficulty | None, seed: int, echo: bool) -> None:
    """Ask on stdin/stdout. `echo` repeats answers read from a pipe, so the transcript reads like a session."""
    from cnncalc.quiz.text import header
    from cnncalc.quiz.session import run_session

    if not echo:
        try:
            import readline  # noqa: F401  # line editing and history for input() on a terminal
        except ImportError:  # pragma: no cover - Windows
            pass

    def read(prompt: str) -> str:
        if sys.stdin is None:
            raise EOFError
        if not echo:
            return input(prompt)
        sys.stdout.write(prompt)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
        return line.rstrip("\n")

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    import shutil

    width = min(shutil.get_terminal_size().columns, 100) - 1 if not echo else None
    run_session(problems, lang, read, write, intro=header(lang, difficulty, seed, len(problems)), width=width)


def main() -> None:
    # A run is short and builds many small objects that all live to the end (YAML nodes, layers,
    # rows); the cyclic collector would rescan them again and again, which made a 10,000-layer
    # spec cost quadratic time (bench/startup.py). Reference counting still frees everything.
    import gc
    import os

    from cnncalc.cli import streams

    gc.disable()
    streams.install()
    try:
        try:
            app_for(sys.argv[1:])(prog_name="cnncalc")  # not `python -m cnncalc` in usage lines
            code: int | str | None = 0
        except SystemExit as done:  # typer ends every run this way
            code = done.code
        sys.stdout.flush()  # a full disk or a closed pipe shows here, while it can still be reported
        sys.stderr.flush()
    except streams.OutputFault as fault:
        code = streams.exit_code_for(fault)
    if code is not None and not isinstance(code, int):
        raise SystemExit(code)  # a message instead of a number: Python prints it and exits 1
    # Everything is written and flushed: skip the interpreter's teardown, which freed every object of
    # the run one by one (9–13 ms on ResNet-152, issue 14). Nothing else is left to flush or close.
    os._exit(code or 0)


def app_for(argv: list[str]) -> typer.Typer:
    """The app with only the command being run registered.

    typer turns every registered command's signature into click parameters before it runs
    one; with a dozen commands that was a third of cnncalc's start-up (bench/startup.py).
    Help, completion and unknown commands get the whole app, so they list everything.
    """
    import copy
    import os

    name = argv[0] if argv else None
    if name is None or any(key.startswith("_CNNCALC_COMPLETE") for key in os.environ):
        return app
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.typer_instance.info.name == name]
    if not commands and not groups:
        return app
    only = copy.copy(app)
    only.registered_commands = commands
    only.registered_groups = groups
    return only


if __name__ == "__main__":  # pragma: no cover
    main()
