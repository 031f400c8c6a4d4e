"""The bundled networks: YAML files shipped as the package `cnncalc.specs` (the repo's `specs/`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.model.layers import Network
    from cnncalc.model.shapes import Shape

# Imported where used: a TAB completing a bundled name (cli.complete.fast) needs only the names.


def specs_dir() -> Path:
    """Installed, the specs are the package `cnncalc.specs`; in a plain source checkout, `specs/` beside `cnncalc/`.
    (The package's own folder, found by importing it: importlib.resources costs 3.6 ms of start-up.)"""
    try:
        import cnncalc.specs as package
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent.parent / "specs"
    return Path(os.path.dirname(package.__file__))


def bundled_names() -> list[str]:
    return sorted(name[: -len(".yaml")] for name in os.listdir(specs_dir()) if name.endswith(".yaml"))


def bundled_path(name: str) -> Path | None:
    if not 0 < len(name) <= 100 or "/" in name or "\\" in name or "\0" in name:
        return None  # no bundled name is like that, and the file system may refuse to look (too long, a NUL)
    path = specs_dir() / f"{name}.yaml"
    return path if path.is_file() else None


STDIN = "-"  # as SPEC: the spec's text from standard input (`cnncalc show vgg16 | cnncalc table -`)


def load(spec: str, input_shape: Shape | None = None) -> Network:
    """A spec file's network, a bundled one by name (a file of that name wins), or `-` for standard input,
    on `input_shape` if given."""
    from cnncalc.errors import FileProblem
    from cnncalc.words import quote

    if spec == STDIN:
        from cnncalc.spec.parse import parse_spec
        from cnncalc.spec.files import read_stdin

        return parse_spec(read_stdin(), file="<stdin>", default_name="stdin", input_shape=input_shape)
    path = Path(spec)
    try:
        exists = path.exists()
    except OSError as exc:  # a name too long for the file system, a path through a file …
        raise FileProblem(f"cannot read {quote(spec, 80)}: {exc.strerror or exc}", hint="check the path") from None
    except ValueError:  # an embedded NUL
        raise FileProblem(f"{quote(spec, 80)} is not a file name (it holds a NUL character)", hint="check the path") from None
    if exists:
        from cnncalc.spec.parse import parse_file

        return parse_file(path, input_shape)
    bundled = bundled_path(spec) if "/" not in spec and "\\" not in spec else None
    if bundled is not None:

        def parse() -> Network:
            from cnncalc.spec.parse import parse_spec, read_spec_file

            return parse_spec(read_spec_file(bundled), file=f"{spec} (bundled)", default_name=spec, input_shape=input_shape)

        if input_shape is not None:
            return parse()
        from cnncalc.spec.cache import bundled_network

        return bundled_network(spec, bundled.read_bytes(), parse)
    import difflib

    names = bundled_names()
    close = difflib.get_close_matches(spec.removesuffix(".yaml"), names, n=1, cutoff=0.6)
    suggestion = f"; did you mean `{close[0]}`?" if close else ""
    raise FileProblem(
        f"{quote(spec, 80)} is neither a spec file nor a bundled model{suggestion}",
        hint=f"give the path of a .yaml spec, or a bundled name ({len(names)} of them: `cnncalc models` lists them)",
    )


def bundled_text(name: str) -> str:
    """The YAML of a bundled spec, as shipped (`cnncalc show NAME`)."""
    import difflib

    from cnncalc.errors import FileProblem
    from cnncalc.spec.files import read_spec_file
    from cnncalc.words import quote

    path = bundled_path(name)
    if path is None:
        close = difflib.get_close_matches(name, bundled_names(), n=1, cutoff=0.6)
        raise FileProblem(
            f"{quote(name, 80)} is not a bundled model" + (f"; did you mean `{close[0]}`?" if close else ""),
            hint="`cnncalc models` lists the bundled names",
        )
    return read_spec_file(path)
