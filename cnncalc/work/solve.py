"""Inverse problems of conv arithmetic: which padding, stride or kernel gives a wanted size, and the
output padding that lets a transposed conv undo a conv.

The output length is monotonic in each of padding, stride and kernel, so the solutions form
one run of consecutive values. Its ends come from inverting the floor; the forward formula of
`formulas` (the one torch uses) then confirms that both ends give the target and that the
values just outside do not, so a wrong bound is an error, never a wrong answer. Each listed
solution is shown through the forward formula. Runs of any length cost the same: sizes in the
billions answer as fast as textbook ones. Pure: no I/O.
"""

from __future__ import annotations

from typing import Callable

from cnncalc.kinds import formulas
from cnncalc.errors import OptionProblem
from cnncalc.kinds.conv import transpose_expression
from cnncalc.kinds.sliding import conv_length_step
from cnncalc.kinds.worked import Section, Step, num
from cnncalc.work.explain import Worked

MAX_LISTED = 10  # a longer run of solutions is shown by its first and last values


def _run(lo: int, hi: int | None, gives: Callable[[int], int], target: int, smallest_allowed: int) -> list[int]:
    """The solutions lo..hi (hi None: no upper end) to list, after checking the run's ends with the forward formula."""
    if hi is not None and hi < lo:
        return []
    top = lo if hi is None else hi
    if gives(lo) != target or gives(top) != target:
        raise AssertionError(f"solve: the run {lo}..{hi} does not give {target}")  # a bug, reported as such
    if lo - 1 >= smallest_allowed and gives(lo - 1) == target:
        raise AssertionError(f"solve: {lo - 1} also gives {target}")
    if hi is not None and gives(hi + 1) == target:
        raise AssertionError(f"solve: {hi + 1} also gives {target}")
    if hi is None:
        return [lo]
    if hi - lo + 1 <= MAX_LISTED:
        return list(range(lo, hi + 1))
    return [lo, lo + 1, lo + 2, hi - 1, hi]


def _gap_step(listed: list[int], lo: int, hi: int | None, symbol: str) -> Step | None:
    """The line that stands for the values a long run does not list one by one."""
    if hi is None or hi - lo + 1 <= MAX_LISTED:
        return None
    return Step("…", "", f"every {symbol} from {num(lo)} to {num(hi)} works: {num(hi - lo + 1)} in all")


def _span(kernel: int, dilation: int) -> str:
    """The kernel's span as it appears in the formulas: `f`, or `d·(f − 1) + 1` worked out."""
    return str(kernel) if dilation == 1 else str(formulas.effective_kernel(kernel, dilation))


def _given(**values: int) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())


def _split(total: int) -> tuple[int, int]:
    """How a total padding is split when it is odd: the extra pixel after (bottom/right), as torch's padding='same'."""
    return total // 2, total - total // 2


def _check_kernel_fits(n: int, kernel: int, padding_total: int, dilation: int) -> None:
    span = formulas.effective_kernel(kernel, dilation)
    if span > n + padding_total:
        raise OptionProblem(
            f"the {span}-pixel kernel is larger than the {n + padding_total}-pixel padded input: there is no output at any stride",
            hint="use a smaller kernel or more padding",
        )


# --------------------------------------------------------------------------- padding


def padding(n: int, kernel: int, stride: int = 1, dilation: int = 1, output: int | None = None) -> Worked:
    """Every total padding P (and its split) with ⌊(n + P − d(f−1) − 1)/s⌋ + 1 = output; output defaults to "same", ⌈n/s⌉."""
    same = output is None
    target = formulas.same_output_length(n, stride) if output is None else output
    span = formulas.effective_kernel(kernel, dilation)
    # ⌊(n + P − span)/s⌋ = target − 1  ⇔  (target − 1)·s + span − n ≤ P ≤ that + s − 1
    smallest = (target - 1) * stride + span - n
    lo, hi = max(smallest, 0), smallest + stride - 1
    totals = _run(lo, hi, lambda total: formulas.conv_output_length(n, kernel, stride, *_split(total), dilation), target, 0)
    given = _given(n=n, f=kernel, s=stride, **({"d": dilation} if dilation != 1 else {}))
    goal = f"output {target}" + (f" = ⌈{n}/{stride}⌉ (\"same\")" if same and stride > 1 else " (\"same\": the size is kept)" if same else "")
    rule = "⌊(n + P − f)/s⌋ + 1 = n_out, where P = p_before + p_after is the total padding"
    steps: list[Step] = []
    notes: list[str] = []
    if dilation != 1:
        steps.append(Step("kernel span", f"{dilation}·({kernel} − 1) + 1", str(span)))
    if smallest >= 0:
        shown = str(smallest)
    elif totals:
        shown = f"{smallest}, so P = 0: padding cannot be negative"
    else:
        shown = f"{smallest}: negative, and padding cannot remove pixels"
    steps.append(Step("smallest P", f"({target} − 1)·{stride} + {_span(kernel, dilation)} − {n}", shown))
    if stride > 1:
        steps.append(
            Step(
                "largest P",
                f"{smallest} + ({stride} − 1)",
                f"{smallest + stride - 1} (the floor absorbs up to s − 1 extra pixels)",
            )
        )
    solutions = []
    for total in totals:
        if hi is not None and total == hi - 1 and (gap := _gap_step(totals, lo, hi, "total P")):
            steps.append(gap)
        before, after = _split(total)
        if total % 2 == 0:
            label = f"P = {total}: p = {before}"
            how = f"symmetric: nn.Conv2d(padding={before})"
        else:
            label = f"P = {total}: {before} + {after}"
            how = f"asymmetric: {before} before, {after} after (nn.ZeroPad2d, or TensorFlow's \"same\")"
        steps.append(_with_note(conv_length_step(label, n, kernel, stride, before, after, dilation), how))
        solutions.append({"total": total, "before": before, "after": after, "symmetric": total % 2 == 0})
    if not totals:
        no_pad = formulas.conv_output_length(n, kernel, stride, 0, 0, dilation)
        notes.append(
            f"No padding works: even with P = 0 the output is {no_pad}, larger than {target}, and padding only makes "
            f"it larger. Use a larger stride or kernel (see `cnncalc solve stride` / `solve kernel`)."
        )
    elif not any(s["symmetric"] for s in solutions):
        notes.append(
            "Every solution has an odd total, so the padding cannot be the same on both sides"
            + (
                f": with an even kernel (f = {kernel}) at stride 1 the total is f − 1 = {kernel - 1}, odd, while a "
                f"symmetric p gives 2p, always even. torch's padding='same' (stride 1 only) puts the extra pixel "
                f"after (bottom/right); so do TensorFlow and cnncalc's `padding: same`."
                if stride == 1 and dilation == 1 and kernel % 2 == 0
                else ". Pad the extra pixel after (bottom/right), as torch's padding='same' and TensorFlow do."
            )
        )
    if stride == 1 and same and kernel % 2 == 1 and dilation == 1:
        notes.append(f"For an odd f at stride 1 this is the notes' rule p = (f − 1)/2 = ({kernel} − 1)/2 = {(kernel - 1) // 2}.")
    data = {
        "problem": "padding",
        "input": n,
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "output": target,
        "solutions": solutions,
        "count": hi - lo + 1 if totals else 0,
    }
    answers = ", ".join(_padding_answer(s) for s in solutions)
    if totals and hi - lo + 1 > MAX_LISTED:
        answers = f"every total P from {num(lo)} to {num(hi)} ({num(hi - lo + 1)} in all)"
    return Worked(
        f"padding for {given} to give {goal}",
        (f"solutions: {answers or 'none'}",),
        (Section("Solve for P", rule, tuple(steps)),),
        tuple(notes),
        data,
    )


def _with_note(step: Step, note: str) -> Step:
    return step._replace(note=f"{step.note}; {note}" if step.note else note)


def _padding_answer(solution: dict) -> str:
    if solution["symmetric"]:
        return f"p = {solution['before']}"
    return f"{solution['before']} before + {solution['after']} after"


# --------------------------------------------------------------------------- stride


def stride(n: int, kernel: int, output: int, padding: int = 0, dilation: int = 1) -> Worked:
    """Every stride s with ⌊(n + 2p − d(f−1) − 1)/s⌋ + 1 = output."""
    _check_kernel_fits(n, kernel, 2 * padding, dilation)
    numerator = formulas.conv_numerator(n, kernel, 1, padding, padding, dilation)
    given = _given(n=n, f=kernel, p=padding, **({"d": dilation} if dilation != 1 else {}))
    steps: list[Step] = [
        Step("numerator", f"{n} + 2·{padding} − {_span(kernel, dilation)}", str(numerator)),
    ]
    notes: list[str] = []
    # ⌊num/s⌋ = output − 1  ⇔  num/output < s ≤ num/(output − 1); output 1: every s > num.
    open_ended = output == 1
    lo = numerator // output + 1
    hi = None if open_ended else numerator // (output - 1)
    found = _run(lo, hi, lambda s: formulas.conv_output_length(n, kernel, s, padding, padding, dilation), output, 1)
    solutions = []
    for s in found:
        if hi is not None and s == hi - 1 and (gap := _gap_step(found, lo, hi, "stride")):
            steps.append(gap)
        exact = formulas.division_remainder(n, kernel, s, padding, padding, dilation) == 0
        label = f"s = {s}" if not (open_ended and s == numerator + 1) else f"s ≥ {s}"
        step = conv_length_step(label, n, kernel, s, padding, padding, dilation)
        steps.append(_with_note(step, "exact" if exact else "CS231n calls this invalid; torch rounds down"))
        solutions.append({"stride": s, "exact": exact, **({"and_above": True} if open_ended and s == numerator + 1 else {})})
    if open_ended:
        notes.append(f"Output 1 means a single window: every stride above {numerator} gives it too (the window never moves).")
    if not found:
        notes.append(_no_stride_reason(n, kernel, padding, dilation, numerator, output))
    data = {
        "problem": "stride",
        "input": n,
        "kernel": kernel,
        "padding": padding,
        "dilation": dilation,
        "output": output,
        "solutions": solutions,
        "count": None if open_ended else (hi - lo + 1 if found else 0),
    }
    answers = ", ".join(
        (f"s ≥ {s['stride']}" if s.get("and_above") else f"s = {s['stride']}") + ("" if s["exact"] else " (floored)")
        for s in solutions
    )
    if found and hi is not None and hi - lo + 1 > MAX_LISTED:
        answers = f"every stride from {num(lo)} to {num(hi)} ({num(hi - lo + 1)} in all)"
    return Worked(
        f"stride for {given} to give output {output}",
        (f"solutions: {answers or 'none'}",),
        (Section("Solve for s", "⌊(n + 2p − f)/s⌋ + 1 = n_out  ⇔  numerator/n_out < s ≤ numerator/(n_out − 1)", tuple(steps)),),
        tuple(notes),
        data,
    )


def _no_stride_reason(n: int, kernel: int, padding: int, dilation: int, numerator: int, output: int) -> str:
    largest = numerator + 1
    if output > largest:
        return (
            f"None: stride 1 gives the largest output, {numerator} + 1 = {largest}, and {output} is larger. "
            f"Add padding or use a smaller kernel."
        )
    s = numerator // output  # the largest stride whose output is still above the target
    bigger = formulas.conv_output_length(n, kernel, s, padding, padding, dilation)
    smaller = formulas.conv_output_length(n, kernel, s + 1, padding, padding, dilation)
    return (
        f"None: stride {s} gives {bigger} and stride {s + 1} gives {smaller}; no whole stride lands on {output} "
        f"in between. Change the padding or the kernel (`cnncalc solve padding` / `solve kernel`)."
    )


# --------------------------------------------------------------------------- kernel


def kernel(n: int, output: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Worked:
    """Every kernel size f with ⌊(n + 2p − d(f−1) − 1)/s⌋ + 1 = output."""
    given = _given(n=n, s=stride, p=padding, **({"d": dilation} if dilation != 1 else {}))
    padded = n + 2 * padding
    steps: list[Step] = []
    solutions = []
    # ⌊(L − d(f − 1) − 1)/s⌋ = output − 1  ⇔  L − output·s ≤ d(f − 1) ≤ L − 1 − (output − 1)·s
    upper = padded - 1 - (output - 1) * stride
    lo = 1 + max(0, -(-(padded - output * stride) // dilation))
    hi = 1 + upper // dilation if upper >= 0 else 0
    found = _run(lo, hi, lambda f: formulas.conv_output_length(n, f, stride, padding, padding, dilation), output, 1)
    for f in found:
        if f == hi - 1 and (gap := _gap_step(found, lo, hi, "kernel size")):
            steps.append(gap)
        exact = formulas.division_remainder(n, f, stride, padding, padding, dilation) == 0
        step = conv_length_step(f"f = {f}", n, f, stride, padding, padding, dilation)
        steps.append(_with_note(step, "exact" if exact else "CS231n calls this invalid; torch rounds down"))
        solutions.append({"kernel": f, "exact": exact})
    notes: list[str] = []
    if stride == 1 and dilation == 1 and solutions:
        notes.append(f"At stride 1 the answer is unique: f = n + 2p + 1 − n_out = {n} + 2·{padding} + 1 − {output} = {solutions[0]['kernel']}.")
    if not solutions:
        if output > padded:
            notes.append(f"None: even f = 1 gives only ⌊({padded} − 1)/{stride}⌋ + 1 = {formulas.conv_output_length(n, 1, stride, padding, padding, dilation)}; add padding.")
        else:
            notes.append(
                f"None: no kernel size gives exactly {output} at stride {stride}; nearby sizes jump over it. "
                f"Change the stride or the padding."
            )
    data = {
        "problem": "kernel",
        "input": n,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "output": output,
        "solutions": solutions,
        "count": hi - lo + 1 if found else 0,
    }
    answers = ", ".join(f"f = {s['kernel']}" + ("" if s["exact"] else " (floored)") for s in solutions)
    if found and hi - lo + 1 > MAX_LISTED:
        answers = f"every kernel size from {num(lo)} to {num(hi)} ({num(hi - lo + 1)} in all)"
    return Worked(
        f"kernel for {given} to give output {output}",
        (f"solutions: {answers or 'none'}",),
        (Section("Solve for f", "⌊(n + 2p − f)/s⌋ + 1 = n_out  ⇔  n + 2p − n_out·s ≤ f − 1 ≤ n + 2p − 1 − (n_out − 1)·s", tuple(steps)),),
        tuple(notes),
        data,
    )


# --------------------------------------------------------------------------- output padding


def output_padding(n: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1) -> Worked:
    """The output_padding of ConvTranspose2d(f, s, p, d) that maps the output of Conv2d(f, s, p, d) on n back to n."""
    _check_kernel_fits(n, kernel, 2 * padding, dilation)
    m = formulas.conv_output_length(n, kernel, stride, padding, padding, dilation)
    base = formulas.conv_transpose_output_length(m, kernel, stride, padding, 0, dilation)
    limit = max(stride, dilation)  # torch: output_padding < max(stride, dilation)
    # The conv's floor dropped (n + 2p − span) mod s pixels: that is the output padding to add back.
    needed = formulas.division_remainder(n, kernel, stride, padding, padding, dilation)
    shown_ops = sorted({0, needed, min(needed + 1, limit - 1)})
    options = [(op, formulas.conv_transpose_output_length(m, kernel, stride, padding, op, dilation)) for op in shown_ops]
    answer = [op for op, size in options if size == n]
    given = _given(n=n, f=kernel, s=stride, p=padding, **({"d": dilation} if dilation != 1 else {}))
    steps = [
        conv_length_step("conv", n, kernel, stride, padding, padding, dilation),
    ]
    for op, size in options:
        mark = "← restores n" if size == n else ""
        steps.append(Step(f"op = {op}", transpose_expression(m, kernel, stride, padding, op, dilation), str(size), note=mark))
    first, last = max(1, base), base + stride - 1  # the conv maps exactly these input sizes to m
    run = _run(first, last, lambda x: formulas.conv_output_length(x, kernel, stride, padding, padding, dilation), m, 1)
    sources = [first, last] if run and last > first else [n]
    notes = [
        f"The conv maps every input size {sources[0]}..{sources[-1]} to {m}" if len(sources) > 1 else f"Only n = {n} maps to {m}",
        ]
    if len(sources) > 1:
        notes[0] += (
            f" (the floor in ⌊(n + 2p − f)/s⌋ drops up to s − 1 pixels), so the transposed conv alone gives the smallest, "
            f"{base}; output_padding = {answer[0] if answer else '?'} adds the {n - base} pixel{'s' if n - base != 1 else ''} "
            f"the floor dropped. In torch, ConvTranspose2d(..., output_padding={answer[0] if answer else '?'}), or pass "
            f"output_size=[{n}, {n}] to its forward."
        )
    else:
        notes[0] += f", so no output padding is needed: {base} = n."
    data = {
        "problem": "output_padding",
        "input": n,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "conv_output": m,
        "output_padding": answer[0] if answer else None,
        "inputs_with_same_conv_output": {"from": sources[0], "to": sources[-1]},
    }
    return Worked(
        f"output_padding to undo a conv with {given}",
        (f"conv: {n} → {m}; transposed conv: {m} → {n} with output_padding = {answer[0] if answer else 'none'}",),
        (
            Section(
                "Forward, then back",
                "conv: ⌊(n + 2p − f)/s⌋ + 1 = m;  transposed: (m − 1)·s − 2p + d(f − 1) + output_padding + 1",
                tuple(steps),
            ),
        ),
        tuple(notes),
        data,
    )


__all__ = ["kernel", "output_padding", "padding", "stride"]
