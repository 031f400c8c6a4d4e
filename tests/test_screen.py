"""What people read fits their screen: piped output is laid out at 80 columns (or COLUMNS), no line is
longer than that or ends in a space, a row is never folded onto a second line, a number is never cut,
and long formulas and notes continue under a hanging indent. The styled (terminal) output is the same
text as the plain one, only bold."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cnncalc.cli.app import app
from cnncalc.spec import zoo
from cnncalc.words import cell_width, wrap

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args: str, columns: int, styled: bool = False):
    env = {"COLUMNS": str(columns), "TERM": "xterm"}
    env.update({"FORCE_COLOR": "1", "NO_COLOR": ""} if styled else {"NO_COLOR": "1", "FORCE_COLOR": ""})
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


COMMANDS = [
    ("table", "resnet50"),
    ("table", "densenet121", "--paths"),
    ("table", "s3d", "--depth", "2"),
    ("table", "inception_v3", "--paths", "--chw"),
    ("receptive-field", "densenet121"),
    ("receptive-field", "s3d"),
    ("receptive-field", "inception_v3", "--explain"),
    ("models",),
    ("check", "vgg16", "unet"),
    ("layer", "conv", "--input", "63x63x16", "--filters", "32", "--kernel", "7", "--stride", "2"),
    ("layer", "conv_transpose", "--input", "4x4x8", "--filters", "4", "--kernel", "3", "--stride", "2", "--padding", "1", "--output-padding", "1"),
    ("explain", "resnet50", "--layer", "layer1.0.conv2"),
    ("explain", "inception_v3", "--layer", "Mixed_5b.branch_pool.conv"),
    ("solve", "output-padding", "--input", "8", "--kernel", "3", "--stride", "2", "--padding", "1"),
    ("quiz", "-n", "20", "--seed", "3", "-f", "text", "-d", "hard"),
    ("quiz", "-n", "10", "--seed", "5", "-f", "text", "--lang", "ko"),
    ("compare", "bottleneck", "--input", "28x28x192", "--filters", "32", "--kernel", "5", "--via", "16"),
]


@pytest.mark.parametrize("columns", [60, 80, 123])
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_piped_lines_fit_the_width_and_never_end_in_a_space(args, columns):
    lines = run(*args, columns=columns).split("\n")
    too_long = [line for line in lines if cell_width(line) > columns]
    assert not too_long, f"{len(too_long)} lines longer than {columns} columns, e.g. {too_long[0]!r}"
    assert not [line for line in lines if line != line.rstrip()]


@pytest.mark.parametrize("columns", [60, 80])
def test_receptive_field_gives_each_layer_exactly_one_row_whatever_the_width(columns):
    # rich used to fold a long path onto a second line, which broke `grep` and `awk` on the output
    out = run("receptive-field", "densenet121", columns=columns).split("\n")
    rows = out[4 : out.index("", 4)]
    paths = [row.split(",")[0] for row in run("receptive-field", "densenet121", "--format", "csv", columns=columns).strip().split("\n")[1:]]
    assert len(rows) == len(paths)
    for row, path in zip(rows, paths):
        shown = row.split()[0]
        assert shown == path or (shown.endswith("…") and path.startswith(shown[:-1])), (row, path)


@pytest.mark.parametrize("columns", [60, 70, 80, 100, 200])
def test_models_never_cuts_a_name_or_a_number(columns):
    text = run("models", columns=columns)
    assert "…" not in text
    for name in zoo.bundled_names():
        assert re.search(rf"^ {re.escape(name)} ", text, re.M), f"{name} missing or cut at {columns} columns"


def test_models_wraps_descriptions_inside_their_column_on_a_wide_screen():
    lines = run("models", columns=160).split("\n")
    header = lines[1]
    start = header.index("Description")
    continued = [line for line in lines[3:] if line.strip() and line[:start].strip() == ""]
    assert continued, "some description continues on a second line"
    assert all(line[start:start + 1] != " " for line in continued), "continuations start at the column"


def test_a_narrow_table_shortens_names_never_numbers():
    text = run("table", "densenet121", "--paths", columns=60)
    for line in text.split("\n")[3:]:
        if not line or line.startswith(("=", "-", " ")) or "…" not in line:
            continue
        name, *cells = line.split()
        assert name.endswith("…") and not any("…" in cell for cell in cells), line


@pytest.mark.parametrize("args", [("table", "resnet18"), ("receptive-field", "lenet5"), ("models", "resnet"), ("table", "unet", "--depth", "1")])
def test_the_terminal_gets_the_same_text_as_a_pipe_only_styled(args):
    styled = run(*args, columns=100, styled=True)
    assert "\x1b[1m" in styled, "blocks and headers are bold on a terminal"
    assert ANSI.sub("", styled) == run(*args, columns=100)


def test_long_formula_lines_continue_under_a_hanging_indent():
    out = run("layer", "conv", "--input", "63x63x16", "--filters", "32", "--kernel", "7", "--stride", "2", columns=80).split("\n")
    i = next(i for i, line in enumerate(out) if line.startswith("Multiply-accumulates:"))
    assert out[i].endswith("per output") and out[i + 1] == "    position (biases not counted)"
    narrow = run("explain", "resnet50", "--layer", "layer1.0.conv2", columns=60).split("\n")
    title = narrow[0]
    assert title.startswith("layer1.0.conv2: conv 64 filters") and narrow[1].startswith("    ") and narrow[1].strip()


# --------------------------------------------------------------------------- words.wrap


def test_wrap_keeps_a_line_that_fits_as_it_is_even_with_runs_of_spaces():
    assert wrap("  input   32x32x3", 80) == ["  input   32x32x3"]


def test_wrap_breaks_at_spaces_with_a_hanging_indent_and_folds_a_word_longer_than_a_line():
    assert wrap("aaa bbb ccc", 7, "  ") == ["aaa bbb", "  ccc"]
    assert wrap("x " + "y" * 12, 5) == ["x", "yyyyy", "yyyyy", "yy"]
    assert wrap("한국어 문장", 7) == ["한국어", "문장"]  # two columns per Hangul syllable


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab ·×한"), max_size=80),
    st.integers(min_value=4, max_value=40),
    st.sampled_from(["", "  ", "    "]),
)
def test_wrap_never_exceeds_the_width_never_ends_in_a_space_and_loses_no_word(text, width, indent):
    lines = wrap(text, width, indent)
    assert all(cell_width(line) <= width for line in lines)
    assert all(line == line.rstrip() for line in lines)
    assert "".join(text.split()) == "".join("".join(line.split()) for line in lines)
