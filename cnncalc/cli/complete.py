"""What TAB offers (typer's `--install-completion`): bundled model names and spec files for SPEC, the
layer kinds for `cnncalc layer`, and for `--layer` the paths of the spec already on the command line.

These run only when the shell asks for completions, never on a normal run. A completion never
fails: a spec that does not parse simply offers no paths.
"""

from __future__ import annotations

import os
from typing import Any

SPEC_SUFFIXES = (".yaml", ".yml")
COMPLETE_VAR = "_CNNCALC_COMPLETE"  # what the scripts of `cnncalc --install-completion` set (typer's name)


def _files(incomplete: str) -> list[str]:
    """Spec files and folders next to what was typed (folders end in /, to go on typing)."""
    folder, start = os.path.split(incomplete)
    try:
        entries = sorted(os.scandir(folder or "."), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(start) or (entry.name.startswith(".") and not start.startswith(".")):
            continue
        path = os.path.join(folder, entry.name)
        try:
            if entry.is_dir():
                found.append(path + "/")
            elif entry.name.endswith(SPEC_SUFFIXES):
                found.append(path)
        except OSError:
            continue
    return found


def specs(incomplete: str) -> list[tuple[str, str]]:
    """Bundled model names, then spec files, that start with `incomplete`."""
    from cnncalc.spec.zoo import bundled_names

    names = [(name, "bundled model") for name in bundled_names() if name.startswith(incomplete)]
    return names + [(path, "spec file") for path in _files(incomplete)]


def bundled(incomplete: str) -> list[tuple[str, str]]:
    from cnncalc.spec.zoo import bundled_names

    return [(name, "bundled model") for name in bundled_names() if name.startswith(incomplete)]


def kinds(incomplete: str) -> list[str]:
    """Every layer kind `cnncalc layer` takes (the spec's names, not their synonyms)."""
    from cnncalc.kinds.registry import KINDS

    return sorted(name for name in KINDS if name.startswith(incomplete))


def _typed_words() -> list[str]:
    """The words before the one being completed, as the shell handed them over (typer passes the
    callback no arguments, and click drops a positional argument while `--layer` lacks its value)."""
    import shlex

    try:
        if "COMP_WORDS" in os.environ:  # bash
            return shlex.split(os.environ["COMP_WORDS"])[1 : int(os.environ.get("COMP_CWORD", "0"))]
        if "_TYPER_COMPLETE_ARGS" in os.environ:  # zsh, fish, powershell: the whole line, the word being completed last
            words = shlex.split(os.environ["_TYPER_COMPLETE_ARGS"])
            return words[1:-1] if not os.environ["_TYPER_COMPLETE_ARGS"].endswith(" ") else words[1:]
    except ValueError:  # an unclosed quote
        return []
    return []


def _spec_of(ctx: Any) -> str | None:
    spec = (ctx.params or {}).get("spec") if ctx is not None else None
    if spec or ctx is None:
        return spec
    takes_value = {opt for p in ctx.command.params if not getattr(p, "is_flag", False) for opt in getattr(p, "opts", ())}
    words = _typed_words()
    if ctx.info_name in words:
        words = words[words.index(ctx.info_name) + 1 :]
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-") and word != "-":
            skip = word in takes_value and "=" not in word
        else:
            return word
    return None


def layer_paths(ctx: Any, incomplete: str) -> list[str]:
    """The dotted paths of the spec given on the command line, starting with `incomplete`."""
    spec = _spec_of(ctx)
    if not spec or spec == "-":
        return []
    try:
        from cnncalc.core.engine import analyse
        from cnncalc.spec import zoo

        analysis = analyse(zoo.load(spec, None))
    except Exception:  # noqa: BLE001 - a completion offers nothing rather than fail in the shell
        return []
    return [row.path for row in analysis.rows if row.path.startswith(incomplete)]


# --------------------------------------------------------------------------- the fast path

# The first argument of these commands, as TAB completes it (`cnncalc table res<TAB>`, the TAB people press
# most). tests/test_completion.py checks each answer against typer's own completion, command by command.
FIRST_ARGUMENT: dict[str, Any] = {
    "table": specs,
    "check": specs,
    "explain": specs,
    "receptive-field": specs,
    "draw": specs,
    "report": specs,
    "export": specs,
    "verify": specs,
    "show": bundled,
    "layer": kinds,
}


def fast(environ: dict[str, str]) -> tuple[str, int] | None:
    """What typer's completion would answer, without importing typer, click or rich (issue 14: a TAB cost
    ≈ 95 ms, mostly those imports), for the first argument of the commands above in bash, zsh and fish:
    (the text to print, the exit code). None for everything else, which typer answers as before."""
    shell = environ.get(COMPLETE_VAR, "")
    import shlex

    try:
        if shell == "complete_bash":
            words = shlex.split(environ.get("COMP_WORDS", ""))
            cword = int(environ.get("COMP_CWORD", ""))
            args, incomplete = words[1:cword], (words[cword] if cword < len(words) else "")
        elif shell in ("complete_zsh", "complete_fish"):
            line = environ.get("_TYPER_COMPLETE_ARGS", "")
            words = shlex.split(line)
            args = words[1:]
            incomplete = args.pop() if args and not line.endswith(" ") else ""
        else:
            return None
    except ValueError:  # an unclosed quote, a COMP_CWORD that is not a number: typer decides
        return None
    if len(args) != 1 or args[0] not in FIRST_ARGUMENT or incomplete.startswith("-"):
        return None
    items = [item if isinstance(item, tuple) else (item, "") for item in FIRST_ARGUMENT[args[0]](incomplete)]
    if shell == "complete_bash":
        return "\n".join(value for value, _ in items) + "\n", 0
    if shell == "complete_zsh":
        if not items:
            return "_files\n", 0
        return "_arguments '*: :((" + "\n".join(_zsh(value, help) for value, help in items) + "))'\n", 0
    action = environ.get("_TYPER_COMPLETE_FISH_ACTION", "")
    if action == "is-args":
        return "", 0 if items else 1
    if action == "get-args" and items:
        return "\n".join(f"{value}\t{' '.join(help.split())}" if help else value for value, help in items) + "\n", 0
    return "\n", 0


def _zsh(value: str, help: str) -> str:
    def escape(text: str) -> str:
        return text.replace('"', '""').replace("'", "''").replace("$", "\\$").replace("`", "\\`").replace(":", r"\\:")

    return f'"{escape(value)}":"{escape(help)}"' if help else f'"{escape(value)}"'
