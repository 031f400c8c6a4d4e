"""Command-line mistakes (a misspelt option, a value that is not one of the choices, a missing
argument) in cnncalc's own `error:` / `hint:` form, with a did-you-mean, exit 2 — instead of click's
`Usage: … Error: Invalid value for '--topic' / '-t': …` block.

click (vendored by typer) finds the mistake; this module only words it. `CnnCalcGroup` is the group
class of the app, so the same words come out of `cnncalc` and of typer's CliRunner in the tests.
"""

from __future__ import annotations

import sys
from typing import Any

from typer.core import TyperGroup

try:  # typer ≥ 0.26 vendors click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from cnncalc.words import printable, suggest

EXIT_USAGE = 2


def _command(problem: Any) -> str:
    ctx = getattr(problem, "ctx", None)
    if ctx is not None and ctx.command_path:
        return ctx.command_path
    return "cnncalc"


def _help_hint(problem: Any) -> str:
    return f"`{_command(problem)} -h` shows every option with an example"


def _given(param: Any, argv: list[str]) -> list[str]:
    """The values the user wrote for `param` (an option may be repeated; `--opt=value` too)."""
    opts = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
    found = []
    for i, token in enumerate(argv):
        for opt in opts:
            if token == opt and i + 1 < len(argv):
                found.append(argv[i + 1])
            elif token.startswith(opt + "=") and opt.startswith("--"):
                found.append(token[len(opt) + 1 :])
            elif not opt.startswith("--") and token.startswith(opt) and len(token) > len(opt) and not token.startswith("--"):
                found.append(token[len(opt) :])  # -t conv written -tconv
    return found


def _shown(value: str) -> str:
    """A value echoed in a message: control characters escaped, a very long one shortened."""
    text = printable(value)
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]} ({len(value):,} characters)"


def _name(param: Any) -> str:
    opts = getattr(param, "opts", ())
    long = [o for o in opts if o.startswith("--")]
    if long:
        return long[0]
    if opts and getattr(param, "param_type_name", "") == "option":
        return opts[0]
    return (getattr(param, "metavar", None) or getattr(param, "name", "value") or "value").upper()


def _bad_parameter(problem: Any, argv: list[str]) -> tuple[str, str]:
    param = problem.param
    name = _name(param)
    kind = type(getattr(param, "type", None)).__name__
    given = _given(param, argv)
    choices = [str(c) for c in getattr(param.type, "choices", None) or ()]
    if choices:
        wrong = next((g for g in given if g.lower() not in {c.lower() for c in choices}), given[0] if given else "")
        mean = suggest(wrong, choices)
        return (
            f"{name}: `{_shown(wrong)}` is not one of {', '.join(choices)}",
            f"{mean[0].upper() + mean[1:]} " if mean else "",
        )
    value = _shown(given[-1]) if given else ""
    if kind == "IntRange":
        low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
        limits = " ".join(part for part in (f"from {low:,}" if low is not None else "", f"to {high:,}" if high is not None else "") if part)
        try:
            int(given[-1] if given else "")
        except ValueError:
            return f"{name}: `{value}` is not a whole number", f"write {name} N, a whole number {limits}".rstrip() + "; "
        return f"{name}: {value} is out of range", f"{name} takes a whole number {limits}; "
    if kind in ("IntParamType",):
        return f"{name}: `{value}` is not a whole number", ""
    if kind in ("FloatParamType", "FloatRange"):
        return f"{name}: `{value}` is not a number", ""
    return f"{name}: {printable(problem.format_message())}", ""


def render(problem: Any, argv: list[str]) -> str:
    """The two lines cnncalc prints for a command-line mistake."""
    if isinstance(problem, click_errors.NoSuchOption):
        mean = suggest(problem.option_name, sorted(problem.possibilities or ())) if problem.possibilities else ""
        head = f"{_command(problem)} has no option {printable(problem.option_name)}"
        hint = (f"{mean[0].upper() + mean[1:]} " if mean else "") + _help_hint(problem)
    elif isinstance(problem, click_errors.MissingParameter):
        head = f"{_command(problem)} needs {_name(problem.param)}"
        usage = problem.ctx.get_usage().replace("Usage: ", "", 1) if problem.ctx is not None else ""
        hint = (f"usage: {usage}; " if usage else "") + _help_hint(problem)
    elif isinstance(problem, click_errors.BadParameter) and getattr(problem, "param", None) is not None:
        head, lead = _bad_parameter(problem, argv)
        hint = lead + _help_hint(problem)
    elif isinstance(problem, click_errors.BadOptionUsage) and "requires an argument" in problem.message:
        head = f"{printable(problem.option_name)} needs a value"
        command = next((a for a in argv if not a.startswith("-")), None) if problem.ctx is None else None
        hint = f"`cnncalc {printable(command)} -h` shows every option with an example" if command else _help_hint(problem)
    elif problem.message.startswith("No such command"):
        ctx = problem.ctx
        word = next((a for a in argv if not a.startswith("-")), "")
        commands = sorted(ctx.command.list_commands(ctx)) if ctx is not None else []
        mean = suggest(word, commands)
        head = f"no command `{printable(word)}`"
        hint = (f"{mean[0].upper() + mean[1:]} " if mean else "") + "`cnncalc --help` lists the commands"
    else:
        head = printable(problem.format_message())
        hint = _help_hint(problem)
    return f"error: {head}\n  hint: {hint}"


class CnnCalcGroup(TyperGroup):
    """typer's group, with command-line mistakes worded by `render` (exit 2) instead of click's usage block."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        argv = [str(a) for a in (sys.argv[1:] if args is None else args)]
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as shown:
            shown.show()
            sys.exit(shown.exit_code)
        except click_errors.UsageError as problem:
            sys.stderr.write(render(problem, argv) + "\n")
            sys.exit(EXIT_USAGE)
        except click_errors.ClickException as other:
            other.show()
            sys.exit(other.exit_code)
        except click_errors.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
