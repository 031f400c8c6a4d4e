"""The package layout is the architecture: each stage imports only the stages below it.

    model <- kinds <- spec, core <- work <- quiz <- render <- cli, and render <- bridge <- cli

(`errors`, `enums`, `words` and `values` are shared vocabulary any stage may use.) Nothing outside `render/`
and `cli/` imports rich, nothing outside `cli/` imports typer, and nothing but the kinds' torch
modules and bridge/ (verify, import) imports torch: the arithmetic stays pure and start-up pays only for what a command uses.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cnncalc"
SHARED = {"errors", "enums", "words", "values", "__init__", "__main__"}
# stage -> the stages it may import (besides itself and the shared modules)
ALLOWED = {
    "model": set(),
    "kinds": {"model"},
    "spec": {"model", "kinds"},
    "core": {"model", "kinds"},
    "work": {"model", "kinds", "spec", "core"},
    "quiz": {"model", "kinds", "spec", "core", "work"},
    "render": {"model", "kinds", "spec", "core", "work", "quiz"},
    "bridge": {"model", "kinds", "spec", "core", "work", "render"},
    "cli": {"model", "kinds", "spec", "core", "work", "quiz", "render", "bridge"},
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement names (also inside functions: lazy imports count)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cnncalc":
                found.extend((node.lineno, f"cnncalc.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, node.module))
    return found


def _stage(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_every_module_lives_in_a_stage_package_or_is_shared_vocabulary():
    stray = [str(p.relative_to(PACKAGE)) for p in _modules() if _stage(p) not in ALLOWED and _stage(p) not in SHARED]
    assert not stray


def test_package_inits_are_empty_so_start_up_does_not_grow():
    for stage in ALLOWED:
        assert (PACKAGE / stage / "__init__.py").read_text() == "", stage


def violations(stage: str, imports: list[tuple[int, str]], name: str = "") -> list[str]:
    """What in these imports breaks the layout, for a module of `stage`."""
    allowed = ALLOWED.get(stage, set(ALLOWED)) | {stage} | SHARED
    found = []
    for line, module in imports:
        parts = module.split(".")
        if parts[0] == "cnncalc" and len(parts) > 1 and parts[1] not in ("specs", "__version__") and parts[1] not in allowed:
            found.append(f"{name}:{line} ({stage}) imports {module}")
        if parts[0] == "rich" and stage not in ("render", "cli"):
            found.append(f"{name}:{line} imports rich outside render/ and cli/")
        if parts[0] in ("typer", "click") and stage != "cli":
            found.append(f"{name}:{line} imports {parts[0]} outside cli/")
        if parts[0] in ("torch", "onnx") and name != "torch_ops.py" and stage not in ("kinds", "bridge"):
            found.append(f"{name}:{line} imports torch")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_stages_only(path):
    assert violations(_stage(path), _imports(path), path.name) == []


def test_the_import_check_reports_upward_imports_and_rich_in_the_core(tmp_path):
    fake = tmp_path / "engine.py"
    fake.write_text("from cnncalc.render.table import to_json\n\ndef f():\n    import rich.table\n    from cnncalc import words\n")
    assert violations("core", _imports(fake), "engine.py") == [
        "engine.py:1 (core) imports cnncalc.render.table",
        "engine.py:4 imports rich outside render/ and cli/",
    ]
