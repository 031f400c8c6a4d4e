"""`$width * 4`-style expressions over block arguments, evaluated safely (no eval).

Allowed: integers, decimals, true/false, quoted text (`'hs'`, to compare with), `$name` references, + - * // / % (a `/` must
divide exactly), comparisons, and/or/not, `A if COND else B`, and parentheses. Inside a block,
`$in.channels`, `$in.height`, `$in.width`, `$in.length`, `$in.depth` and `$in.features` are the
sizes of the block's input; inside `repeat`, `$index` is the copy's number (from 0). A name may hold
`$(…)` parts, as in `denselayer$($index + 1)` (see `interpolate`).
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from typing import Any

from cnncalc.errors import ExpressionProblem

MAX_MAGNITUDE = 2**63 - 1
MAX_LENGTH = 200
_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_PREFIX = "arg__"

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def is_expression(value: object) -> bool:
    return isinstance(value, str) and value.startswith("$")


def evaluate(text: str, scope: dict[str, Any]) -> Any:
    """The value of `text` (which starts with `$`) given the block arguments in `scope`."""
    if len(text) > MAX_LENGTH:
        raise ExpressionProblem(
            f"an expression is at most {MAX_LENGTH} characters; this one has {len(text)}",
            hint="split the computation over block arguments",
        )
    tree = _parsed(text)
    if tree is None:
        raise ExpressionProblem(
            f"{text!r} is not a valid expression",
            hint="expressions use $arguments, numbers and + - * // / %, e.g. `$width * 4`",
        )
    return _eval(tree.body, scope, text)


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> ast.Expression | None:
    """The syntax tree of an expression, or None if it is not one. Cached: a block used a
    hundred times evaluates the same few texts a hundred times (ResNet-152: 316 evaluations)."""
    source = _REFERENCE.sub(lambda m: _PREFIX + m.group(1), text)
    if source.startswith("$"):  # `$(a + b)`: the leading `$` only marks the string as an expression
        source = source[1:]
    try:
        return ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return None


_SHAPE_FIELDS = ("channels", "height", "width", "length", "depth", "features")


def interpolate(text: str, scope: dict[str, Any]) -> str:
    """Text with its `$(expression)` and `$name` parts replaced by their values: `denselayer$($index + 1)`."""
    if len(text) > MAX_LENGTH:
        raise ExpressionProblem(
            f"a name with expressions is at most {MAX_LENGTH} characters; this one has {len(text)}",
            hint="shorten the name",
        )
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
            continue
        if text.startswith("$(", i):
            depth, j = 0, i + 1
            while j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth:
                raise ExpressionProblem(f"{text!r} opens `$(` without closing it", hint="write `$(expression)`, e.g. `denselayer$($index + 1)`")
            part = text[i : j + 1]
            i = j + 1
        else:
            match = _REFERENCE.match(text, i)
            if match is None:
                raise ExpressionProblem(f"{text!r} has a `$` that starts no expression", hint="write `$name` or `$(expression)`")
            part = match.group(0)
            i = match.end()
        value = evaluate(part, scope)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ExpressionProblem(
                f"{part!r} in the name {text!r} gives {value!r}; a name takes whole numbers and text",
                hint="e.g. `denselayer$($index + 1)`",
            )
        out.append(str(value))
    return "".join(out)


def _shape_field(shape: Any, attr: str, text: str) -> int:
    """`$in.channels` and its kin: one size of the block's input."""
    from cnncalc.model.shapes import Spatial, Vector

    error = getattr(shape, "error", None)
    if not isinstance(shape, (Spatial, Vector)):
        if error is not None:
            raise error  # an earlier layer fails: that is what to fix first
        raise ExpressionProblem(f"{text!r} reads the input of a block, but `$in` is only known inside a block", hint="use $in inside a block's layers")
    if attr not in _SHAPE_FIELDS:
        raise ExpressionProblem(
            f"{text!r} asks for `{attr}` of the block's input, which has no such size",
            hint="$in has " + ", ".join(f"$in.{f}" for f in _SHAPE_FIELDS),
        )
    if isinstance(shape, Vector):
        if attr in ("features", "channels"):
            return shape.features
        raise ExpressionProblem(
            f"{text!r} asks for the {attr} of the block's input, but it is a vector of {shape.features} features",
            hint="use $in.features",
        )
    if attr == "channels":
        return shape.channels
    if attr == "features":
        return shape.elements
    if attr not in shape.axes:
        raise ExpressionProblem(
            f"{text!r} asks for the {attr} of the block's input, but {shape.hwc()} is {shape.rank}-D: "
            f"it has {', '.join(shape.axes)} and channels",
            hint="use " + ", ".join(f"$in.{a}" for a in (*shape.axes, "channels")),
        )
    return shape.size(attr)


def _check(value: Any, text: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
        raise ExpressionProblem(
            f"{text!r} gives a number beyond ±{MAX_MAGNITUDE:,} (torch's int64 limit)",
            hint="use realistic sizes",
        )
    return value


def _eval(node: ast.AST, scope: dict[str, Any], text: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return _check(node.value, text)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) <= 64:
        return node.value  # text, for `when: $act == 'hs'` (arithmetic on text is refused below)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == _PREFIX + "in":
        if "in" not in scope:
            raise ExpressionProblem(f"{text!r} reads `$in`, which is only known inside a block", hint="use $in inside a block's layers")
        return _shape_field(scope["in"], node.attr, text)
    if isinstance(node, ast.Name):
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        if not node.id.startswith(_PREFIX):
            raise ExpressionProblem(
                f"{text!r} names {node.id!r} without a `$`",
                hint=f"refer to block arguments as ${node.id}",
            )
        name = node.id[len(_PREFIX):]
        if name not in scope:
            if name == "index":
                raise ExpressionProblem(f"{text!r} reads `$index`, which is only known inside `repeat`", hint="use $index in the layers of a repeat")
            names = [f"${k}" for k in scope if k not in ("in", "index")]
            known = ", ".join(names[:12]) + (", …" if len(names) > 12 else "") or "none here"
            raise ExpressionProblem(
                f"{text!r} refers to ${name}, which is not an argument of this block (arguments: {known})",
                hint="declare it under the block's `args:`, or fix the spelling",
            )
        value = scope[name]
        if name == "in":
            raise ExpressionProblem(f"{text!r} uses `$in` as a number; it is the block's input shape", hint="use $in.channels, $in.height, …")
        return value
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, scope, text)
        right = _eval(node.right, scope, text)
        _numbers(text, left, right)
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise ExpressionProblem(f"{text!r} divides by zero", hint="check the block arguments")
            if isinstance(left, int) and isinstance(right, int):
                if left % right:
                    raise ExpressionProblem(
                        f"`/` must divide exactly; {text!r} is {left}/{right}, which is not a whole number",
                        hint="use // to round down, or choose arguments that divide",
                    )
                return left // right
            return _check(left / right, text)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionProblem(f"{text!r} uses an operator expressions do not have", hint="use + - * // / %")
        if op in (operator.floordiv, operator.mod) and right == 0:
            raise ExpressionProblem(f"{text!r} divides by zero", hint="check the block arguments")
        return _check(op(left, right), text)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope, text)
        if isinstance(node.op, ast.Not):
            return not value
        _numbers(text, value)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope, text)
        for op_node, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, scope, text)
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise ExpressionProblem(f"{text!r} uses a comparison expressions do not have", hint="use == != < <= > >=")
            if op in (operator.eq, operator.ne):
                holds = _same(left, right, text) == (op is operator.eq)  # lists item by item, to a bounded depth
            else:
                _numbers(text, left, right)  # `<` between text and a number has no meaning (Python would raise)
                holds = op(left, right)
            if not holds:
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, scope, text) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, scope, text) else node.orelse, scope, text)
    raise ExpressionProblem(
        f"{text!r} is not an expression cnncalc evaluates",
        hint="expressions use $arguments, numbers and + - * // / %, comparisons, and/or/not, `A if C else B`",
    )


MAX_COMPARE_DEPTH = 16  # a list argument nested deeper than this (or one holding itself, through a YAML alias) is refused


def _same(left: Any, right: Any, text: str, depth: int = 0) -> bool:
    """`left == right` for the values an argument can hold (numbers, text, true/false, lists, mappings),
    without Python's unbounded recursion on a list that holds itself (`&x [*x]`)."""
    if depth > MAX_COMPARE_DEPTH:
        raise ExpressionProblem(
            f"{text!r} compares values nested more than {MAX_COMPARE_DEPTH} levels deep (or a list that holds itself)",
            hint="compare numbers, text or short lists",
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_same(a, b, text, depth + 1) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k], text, depth + 1) for k in left)
    if isinstance(left, (list, dict)) or isinstance(right, (list, dict)):
        return False
    return bool(left == right)


def _numbers(text: str, *values: Any) -> None:
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionProblem(
                f"{text!r} does arithmetic on {value!r}, which is not a number",
                hint="arithmetic works on numeric block arguments only",
            )
