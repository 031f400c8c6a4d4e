"""A grammar of spec files, for fuzzing: every structure of the spec format, every layer kind the registry
knows with its own options, and odd values in every place a value goes.

`random_spec(rng)` returns a spec as a Python document (dump it with `yaml.safe_dump` or as JSON, which is
YAML too) and the paths it is likely to have. Most pieces are valid, so that generated networks get past
the reader and into the engine and every renderer; a fraction of every choice is odd (zero, negative,
huge, wrong type, text where a number goes, unknown names), so that every check is reached as well.
"""

from __future__ import annotations

import random
from typing import Any

from cnncalc.kinds.options import REQUIRED
from cnncalc.kinds.registry import ALIASES, KINDS

ODD_VALUES: list[Any] = [
    0, -1, -7, 2**31, 2**63 - 1, 2**63, 2**64 + 5, 10**30, 0.5, 1e-9, 1e300, float("inf"), float("nan"), -0.0,
    True, False, None, "", "x", "3x3", "same", "valid", "$nope", "$(1 + 1)", "²", "١٢", "0x10", "\x1b[31m", "a\nb",
    [], [0], [1, 2, 3, 4, 5, 6, 7], [[1]], {"a": 1}, "[link=x]y[/link]", "1e400",
]
ODD_NAMES = ["conv1\n", "a.b", "", "x" * 300, "\x1b[2J", "[/x]", "0", "-a", "été", "a b", "layer1"]
MERGES = ("add", "concat", "multiply")
STRUCTURES = ("sequential", "repeat", "merge", "merge", "block", "block", "side")


class Grammar:
    """One random spec. `odd` is the chance that a choice is made odd on purpose."""

    def __init__(self, rng: random.Random, odd: float = 0.08) -> None:
        self.rng = rng
        self.odd = odd
        self.rank = rng.choice((1, 2, 2, 2, 3))
        self.names: list[str] = []
        self.blocks: dict[str, dict[str, Any]] = {}
        self._counter = 0

    # ------------------------------------------------------------------ values

    def is_odd(self) -> bool:
        return self.rng.random() < self.odd

    def odd_value(self) -> Any:
        return self.rng.choice(ODD_VALUES)

    def small(self, low: int = 1, high: int = 4) -> int:
        return self.rng.randint(low, high)

    def per_axis(self, low: int = 1, high: int = 3) -> Any:
        if self.rng.random() < 0.6:
            return self.small(low, high)
        return [self.small(low, high) for _ in range(self.rank)]

    def option_value(self, word: str, option: str, default: Any) -> Any:
        if self.is_odd():
            return self.odd_value()
        if isinstance(default, bool):
            return self.rng.random() < 0.5
        if option in ("kernel", "output_size"):
            return self.per_axis(1, 3)
        if option in ("stride", "dilation"):
            return self.per_axis(1, 2)
        if option == "padding":
            return self.rng.choice([0, 1, self.per_axis(0, 1), "same", "valid"] if word != "conv_transpose" else [0, 1])
        if option == "output_padding":
            return 0
        if option in ("filters", "units"):
            return self.small(1, 8)
        if option in ("groups", "chunks", "factor"):
            return self.rng.choice((1, 2))
        if option == "index":
            return self.rng.choice((0, 1))
        if option == "num_parameters":
            return 1
        if option == "size" and word == "upsample":
            return [self.small(2, 6) for _ in range(self.rank)]
        if option == "size" and word == "crop":
            return self.small(1, 2)
        if option == "size":
            return self.small(1, 5)
        if option == "scale":
            return self.rng.choice((2, 0.5, 1.5, 3))
        if option == "size_of":
            return self.rng.choice(self.names or ["input"]) if self.rng.random() < 0.8 else "input"
        if option == "order":
            return list(range(self.rank + 2))
        if option == "shape":
            return "2x2x3"
        if option == "amounts":
            return [0, 1] * self.rank
        if isinstance(default, float):
            return self.rng.choice((0.1, 0.5, 1.0))
        if isinstance(default, str):
            return str(default.value if hasattr(default, "value") else default)
        if isinstance(default, int):
            return self.small(0, 3)
        return self.odd_value()

    def name(self) -> str:
        if self.is_odd():
            return self.rng.choice(ODD_NAMES)
        self._counter += 1
        name = f"n{self._counter}"
        self.names.append(name)
        return name

    # ------------------------------------------------------------------ layers

    def leaf(self, scope_args: tuple[str, ...] = ()) -> Any:
        # aliases of this rank (conv2d on an image), and now and then one of another rank
        aliases = [a for a, (_, rank) in ALIASES.items() if rank in (None, self.rank) or self.is_odd()]
        word = str(self.rng.choice(list(KINDS) + aliases))
        target = ALIASES.get(word, (word, None))[0]
        schema = KINDS[str(target)].options.get(str(target), {})
        options: dict[str, Any] = {}
        for option, (_, default) in schema.items():
            if default is REQUIRED or self.rng.random() < 0.25:
                if default is REQUIRED and self.rng.random() < 0.03:
                    continue  # a required option left out
                value = self.option_value(str(target), option, default)
                if scope_args and self.rng.random() < 0.3 and isinstance(value, int) and not isinstance(value, bool):
                    value = self.rng.choice([f"${self.rng.choice(scope_args)}", f"${self.rng.choice(scope_args)} * 2",
                                             "$in.channels", "$in.channels // 2 + 1", f"1 if ${self.rng.choice(scope_args)} > 1 else 2"])
                options[option] = value
        if word == "crop" and "size" in options and "amounts" in options:
            options.pop(self.rng.choice(("size", "amounts")))
        if word == "upsample" and "scale" in options and "size" in options:
            options.pop("size" if self.rng.random() < 0.9 else "scale")
        if word == "upsample" and not ({"scale", "size", "size_of"} & set(options)) and not self.is_odd():
            options["scale"] = 2
        if self.rng.random() < 0.4:
            options["name"] = self.name()
        if self.rng.random() < 0.05:
            options["when"] = self.rng.choice([True, False, "$a > 1" if scope_args else True, self.odd_value()])
        if self.is_odd():
            options[self.rng.choice(["kernal", "filter", "strides", "x"])] = 1
        return {word: options} if options or self.rng.random() < 0.5 else word

    def item(self, depth: int, scope_args: tuple[str, ...] = ()) -> Any:
        if depth >= 3 or self.rng.random() < 0.65:
            return self.leaf(scope_args)
        structure = self.rng.choice(STRUCTURES)
        if structure == "sequential":
            options: dict[str, Any] = {"layers": self.items(depth + 1, scope_args)}
            if self.rng.random() < 0.5:
                options["name"] = self.name()
            return {"sequential": self.freeze(options)}
        if structure == "repeat":
            count: Any = self.rng.choice((0, 1, 2, 3)) if not self.is_odd() else self.odd_value()
            if scope_args and self.rng.random() < 0.3:
                count = f"${scope_args[0]}"
            out: dict[str, Any] = {"repeat": count, "layers": self.items(depth + 1, scope_args)}
            if self.rng.random() < 0.5:
                out["name"] = self.name()
            return self.freeze(out)
        if structure == "merge":
            merge = self.rng.choice(MERGES)
            branches: list[Any] = []
            for _ in range(self.rng.choice((2, 2, 3)) if not self.is_odd() else 1):
                kind = self.rng.random()
                if kind < 0.25:
                    branches.append([])
                elif kind < 0.4 and self.names:
                    branches.append({"from": self.rng.choice(self.names + ["input"]), "layers": self.items(depth + 1, scope_args)})
                elif kind < 0.6:
                    branches.append({"name": self.name(), "layers": self.items(depth + 1, scope_args)})
                else:
                    branches.append(self.items(depth + 1, scope_args))
            options = {"branches": branches if not self.is_odd() else self.odd_value()}
            if self.rng.random() < 0.5:
                options["name"] = self.name()
            return {merge: self.freeze(options)}
        if structure == "side":
            side: dict[str, Any] = {"name": self.name(), "layers": self.items(depth + 1, scope_args)}
            if self.names and self.rng.random() < 0.4:
                side["from"] = self.rng.choice(self.names)
            return {"side": side}
        return self.block_use()

    def freeze(self, options: dict[str, Any]) -> dict[str, Any]:
        """Every fourth group says `trainable:` (false, or now and then true inside a frozen one). Decided
        by a counter rather than the random stream, so that the specs of every seed stay what they were."""
        self._groups = getattr(self, "_groups", 0) + 1
        if self._groups % 4 == 0:
            options["trainable"] = self._groups % 12 == 0
        return options

    def items(self, depth: int, scope_args: tuple[str, ...] = ()) -> list[Any]:
        return [self.item(depth, scope_args) for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3)) if depth else self.rng.randint(1, 6))]

    def block_use(self) -> Any:
        if not self.blocks or self.rng.random() < 0.3:
            self._counter += 1
            name = f"b{self._counter}" if not self.is_odd() else self.rng.choice(["conv", "1b", "b-c", "b1"])
            args = {"a": self.small(1, 3), "c": None} if self.rng.random() < 0.7 else {}
            self.blocks[name] = {"args": args, "layers": self.items(2, tuple(args))} if args else {"layers": self.items(2)}
        name = self.rng.choice(list(self.blocks))
        args = self.blocks[name].get("args", {})
        values = {arg: (self.small(1, 3) if not self.is_odd() else self.odd_value()) for arg in args if arg == "c" or self.rng.random() < 0.5}
        if self.rng.random() < 0.4:
            values["name"] = self.name()
        return {name: values} if values else name

    # ------------------------------------------------------------------ the document

    def document(self) -> dict[str, Any]:
        sizes = {1: [self.rng.choice((8, 16, 31))], 2: [self.rng.choice((5, 8, 12)), self.rng.choice((6, 8, 13))], 3: [4, 6, 6]}[self.rank]
        channels = self.rng.choice((1, 3, 4, 8))
        if self.is_odd():
            shape: Any = self.rng.choice(["0x8x3", "8x8", "1x1x1", "3x224x224", "x", 7, [8, 8, 3], "9223372036854775807x2x1", "²x3x3"])
        else:
            shape = "x".join(str(v) for v in [*sizes, channels])
        layers = self.items(0)
        doc: dict[str, Any] = {"name": "fuzz" if not self.is_odd() else self.rng.choice(ODD_NAMES), "input": shape}
        if self.blocks:
            doc["blocks"] = self.blocks
        doc["layers"] = layers
        return doc


def random_spec(rng: random.Random) -> tuple[dict[str, Any], list[str]]:
    # half the specs are meant to be valid throughout (odd values only by accident of combination),
    # the others have an odd value here and there
    grammar = Grammar(rng, odd=rng.choice((0.0, 0.02, 0.05)))
    doc = grammar.document()
    return doc, grammar.names
