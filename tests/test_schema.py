"""`cnncalc schema`: the JSON Schema of spec files for editors (issue 13, point 8). It is generated from
the layer kinds, so these tests check it against the reader itself: every spec `check` accepts (the
bundled ones, the README's, random ones from the spec grammar) the schema accepts too, and of the
corpus of bad specs in test_errors.py the schema lets through only what JSON Schema cannot express,
each listed below with its reason (the README's list of what only `check` checks)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from cnncalc.cli.app import app
from cnncalc.core.engine import analyse
from cnncalc.errors import CnnCalcError
from cnncalc.kinds.registry import ALIASES, KINDS
from cnncalc.spec import zoo
from cnncalc.spec.parse import parse_spec
from cnncalc.spec.schema import MODELINE, spec_schema

sys.path.insert(0, str(Path(__file__).parent))
from spec_grammar import random_spec  # noqa: E402
from test_errors import CASES  # noqa: E402
from test_readme_examples import _spec_blocks  # noqa: E402

SCHEMA = spec_schema()
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)

# Bad specs the schema accepts, and why no JSON Schema can refuse them.
ARITHMETIC = "sizes that do not fit each other: arithmetic over the input's shape"
RANK = "how many numbers a per-axis list needs depends on the input's rank"
NAMES = "the names of the spec's own blocks, layers and paths"
EXPRESSIONS = "whether a $expression evaluates, and to what"
YAML = "a YAML matter the parser resolves before any schema sees the document"
LIMITS = "cnncalc's size limits (int64, expansion steps)"
KNOWN_LIMITS = {
    "kernel-larger-than-input": ARITHMETIC,
    "kernel-both-axes-differ": ARITHMETIC,
    "fc-before-flatten": ARITHMETIC,
    "conv-after-flatten": ARITHMETIC,
    "add-channels-differ": ARITHMETIC,
    "concat-sizes-differ": ARITHMETIC,
    "groups-do-not-divide": ARITHMETIC,
    "pool-padding-over-half": ARITHMETIC,
    "transposed-padding-too-large": ARITHMETIC,
    "shape-error-inside-a-block": ARITHMETIC,
    "kernel-three-numbers": RANK,
    "kind-torch-name": NAMES,  # `Conv2d` could be a block's name, as far as a schema knows
    "kind-keras-name": NAMES,
    "block-misspelt": NAMES,
    "block-recursive": NAMES,
    "duplicate-names": NAMES,
    "expression-not-whole": EXPRESSIONS,
    "expression-unknown-argument": EXPRESSIONS,
    "duplicate-key": YAML,
    "repeat-huge": LIMITS,
    "input-beyond-int64": LIMITS,
}


def schema_accepts(text: str) -> bool:
    return VALIDATOR.is_valid(yaml.safe_load(text))


def check_accepts(text: str) -> bool:
    try:
        analyse(parse_spec(text, file="x.yaml"))
    except CnnCalcError:
        return False
    return True


def test_the_schema_is_draft_07_and_is_what_cnncalc_schema_prints():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0 and json.loads(result.stdout) == SCHEMA


def test_every_kind_and_option_the_reader_knows_is_in_the_schema():
    definitions = SCHEMA["definitions"]
    for word, kind in KINDS.items():
        properties = definitions[f"kind_{word}"]["properties"]
        for option, (convert, _) in kind.options.get(word, {}).items():
            assert properties[option]["anyOf"][0] == convert.schema, (word, option)
        assert {"name", "when"} <= set(properties)
    words = {next(iter(item["properties"])) for item in definitions["layer"]["anyOf"] if item.get("required") and len(item["properties"]) == 1}
    assert set(KINDS) | set(ALIASES) <= words


@pytest.mark.parametrize("name", zoo.bundled_names())
def test_every_bundled_spec_is_valid_under_the_schema(name):
    errors = list(VALIDATOR.iter_errors(yaml.safe_load(zoo.bundled_text(name))))
    assert not errors, jsonschema.exceptions.best_match(errors).message


@pytest.mark.parametrize("block", [b for b, fails in _spec_blocks() if not fails], ids=lambda b: b[:40])
def test_every_readme_spec_that_check_accepts_is_valid_under_the_schema(block):
    assert check_accepts(block) and schema_accepts(block)


def _cases():
    for param in CASES:
        spec, _ = param.values
        try:
            yaml.safe_load(spec)
        except yaml.YAMLError:
            continue  # not YAML: neither an editor's schema nor cnncalc reads it
        yield pytest.param(spec, id=param.id)


@pytest.mark.parametrize("spec", list(_cases()))
def test_the_schema_refuses_each_bad_spec_unless_no_json_schema_could(spec, request):
    case_id = request.node.callspec.id
    assert not check_accepts(spec)
    if case_id in KNOWN_LIMITS:
        assert schema_accepts(spec), f"the schema now refuses {case_id}: take it off KNOWN_LIMITS"
    else:
        assert not schema_accepts(spec), f"the schema lets {case_id} through"


def test_specs_from_the_grammar_that_check_accepts_the_schema_accepts_too():
    """An item with `when: false` is left out before cnncalc reads its options; the schema checks it
    all the same (stricter, never looser), so such specs are not compared."""
    compared = 0
    for seed in range(400):
        doc, _ = random_spec(random.Random(seed))
        text = yaml.safe_dump(doc, allow_unicode=True)
        if "when: false" in text or not check_accepts(text):
            continue
        compared += 1
        errors = list(VALIDATOR.iter_errors(yaml.safe_load(text)))
        assert not errors, f"seed {seed}: {jsonschema.exceptions.best_match(errors).message}\n{text}"
    assert compared > 100


@pytest.mark.parametrize(
    "text, where",
    [
        ("input: 8x8x3\nlayers:\n  - conv: {filter: 6, kernel: 3}\n", ["layers", 0]),
        ("input: 8x8x3\nlayers:\n  - conv: {filters: 6}\n", ["layers", 0]),
        ("input: 8x8x3\nlayers:\n  - maxpool: {kernel: 2, padding: sme}\n", ["layers", 0]),
        ("input: 8x8x3\nlayers: [relu]\nlayouts: chw\n", []),
        ("input: 3x224x224\nlayout: CHW\nlayers: [relu]\n", ["layout"]),
        ("input: 8x8x3\nlayers:\n  - add: {branches: [[relu], []], nme: x}\n", ["layers", 0]),
    ],
)
def test_the_schema_flags_the_mistakes_editors_should_underline(text, where):
    errors = list(VALIDATOR.iter_errors(yaml.safe_load(text)))
    assert errors and not check_accepts(text)
    assert list(jsonschema.exceptions.best_match(errors).absolute_path)[: len(where)] == where


def test_cnncalc_show_starts_with_the_modeline_and_reads_back_unchanged():
    shown = CliRunner().invoke(app, ["show", "vgg16"]).stdout
    assert shown.split("\n")[1] == MODELINE == "# yaml-language-server: $schema=cnncalc.schema.json"
    assert schema_accepts(shown)
