"""The bundled networks: YAML files shipped as the package `cnncalc.specs` (the repo's `specs/`)."""

from __future__ import annotations

import difflib
from pathlib import Path

from cnncalc.errors import FileProblem
from cnncalc.model.layers import Network
from cnncalc.model.shapes import Shape
from cnncalc.words import quote


def specs_dir() -> Path:
    """Installed, the specs are the package `cnncalc.specs`; in a plain source checkout, `specs/` beside `cnncalc/`."""
    from importlib.resources import files

    try:
        return Path(str(files("cnncalc.specs")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent.parent / "specs"


def bundled_names() -> list[str]:
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


def bundled_path(name: str) -> Path | None:
    if not 0 < len(name) <= 100 or "/" in name or "\\" in name or "\0" in name:
        return None  # no bundled name is like that, and the file system may refuse to look (too long, a NUL)
    path = specs_dir() / f"{name}.yaml"
    return path if path.is_file() else None


STDIN = "-"  # as SPEC: the spec's text from standard input (`cnncalc show vgg16 | cnncalc table -`)


def load(spec: str, input_shape: Shape | None = None) -> Network:
    """A spec file's network, a bundled one by name (a file of that name wins), or `-` for standard input,
    on `input_shape` if given."""
    from cnncalc.spec.parse import parse_file, parse_spec, read_spec_file

    if spec == STDIN:
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
        return parse_file(path, input_shape)
    bundled = bundled_path(spec) if "/" not in spec and "\\" not in spec else None
    if bundled is not None:
        return parse_spec(read_spec_file(bundled), file=f"{spec} (bundled)", default_name=spec, input_shape=input_shape)
    names = bundled_names()
    close = difflib.get_close_matches(spec.removesuffix(".yaml"), names, n=1, cutoff=0.6)
    suggestion = f"; did you mean `{close[0]}`?" if close else ""
    raise FileProblem(
        f"{quote(spec, 80)} is neither a spec file nor a bundled model{suggestion}",
        hint=f"give the path of a .yaml spec, or a bundled name ({len(names)} of them: `cnncalc models` lists them)",
    )


def bundled_text(name: str) -> str:
    """The YAML of a bundled spec, as shipped (`cnncalc show NAME`)."""
    from cnncalc.spec.files import read_spec_file

    path = bundled_path(name)
    if path is None:
        close = difflib.get_close_matches(name, bundled_names(), n=1, cutoff=0.6)
        raise FileProblem(
            f"{quote(name, 80)} is not a bundled model" + (f"; did you mean `{close[0]}`?" if close else ""),
            hint="`cnncalc models` lists the bundled names",
        )
    return read_spec_file(path)
