"""Every kind of mistake a user can make in a spec, with the EXACT message cnncalc prints.

The message is part of the interface (editors and CI parse it, people learn from it): rule, then
the culprit with its numbers, then a hint, at FILE:LINE:COLUMN and layer PATH. Each case runs the
real CLI (`cnncalc table bad.yaml`): exit code 2, the message on stderr, nothing on stdout. The
numbers in the messages are checked by hand in the comments of the shape cases, and the errors
cnncalc raises for shapes are errors torch raises too (test_torch_refuses_what_cnncalc_refuses).
"""

from __future__ import annotations

import textwrap

import pytest
import torch
from torch import nn

from cnncalc.core import engine
from cnncalc.errors import CnnCalcError
from cnncalc.spec.parse import parse_spec


def case(case_id: str, spec: str | bytes, *message: str):
    if isinstance(spec, str) and spec.startswith("\n"):
        spec = textwrap.dedent(spec).lstrip("\n")
    return pytest.param(spec, "\n".join(message), id=case_id)


# Hand arithmetic for the numbers below:
# kernel-larger-than-input: (4 + 0 - 5)/1 + 1 = 0 on both axes.
# kernel-both-axes-differ: height (4 - 6)/1 + 1 = -1; width (6 + 2 - 9)/1 + 1 = 0; padded 4x8.
# shape-error-inside-a-block: 12 -conv5-> 8 -pool2-> 4, and the second use's 5x5 conv meets 4x4.
# fc-before-flatten: 8 - 3 + 1 = 6, so 6x6x4 = 144 features; conv-after-flatten: 8*8*3 = 192.
# add-channels-differ: a 3x3 conv with padding 1 keeps 8x8 with 32 channels; the identity keeps 16.
# concat-sizes-differ: 8 - 3 + 1 = 6 against a 1x1 conv's 8.
# groups-do-not-divide: 6 % 4 = 2 while 8 % 4 = 0; gcd(6, 8) = 2, divisors 1 and 2.
# transposed-padding-too-large: (2 - 1)*1 - 2*1 + 1*(1 - 1) + 0 + 1 = 0; without padding it makes 2.
# input-beyond-int64: 10^11 * 10^11 * 3 = 3 * 10^22 > 2^63 - 1.
CASES = [
    case(
        'kernel-larger-than-input',
        """
        input: 4x4x3
        layers:
          - conv: {name: conv3, filters: 8, kernel: 5}
        """,
        'error: bad.yaml:3:5: layer conv3: the kernel must fit inside the padded input, but along the height and the width (4 + 2·0 − 5)/1 + 1 = 0: the 5-pixel kernel is larger than the 4-pixel padded input (kernel 5×5, input 4×4, padding 0)',
        '  hint: use padding (e.g. `padding: same`) or a smaller kernel, or give the network a larger input',
    ),
    case(
        'kernel-quoted',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel: "3"}
        """,
        "error: bad.yaml:3:24: layer 0: `kernel` of conv must be a positive whole number or a list [height, width]; got '3' (text)",
        '  hint: write 3 without quotes',
    ),
    case(
        'stride-zero',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel: 3, stride: 0}
        """,
        'error: bad.yaml:3:35: layer 0: `stride` of conv must be a positive whole number or a list [height, width]; got 0',
        '  hint: 0 would leave nothing to compute with: the smallest value here is 1',
    ),
    case(
        'negative-filters',
        """
        input: 8x8x3
        layers:
          - conv: {filters: -8, kernel: 3}
        """,
        'error: bad.yaml:3:12: layer 0: `filters` of conv must be a positive whole number; got -8',
        '  hint: sizes count pixels, channels or units: the smallest value here is 1',
    ),
    case(
        'fractional-kernel',
        """
        input: 8x8x3
        layers:
          - maxpool: {kernel: 2.5}
        """,
        'error: bad.yaml:3:15: layer 0: `kernel` of maxpool must be a positive whole number or a list [height, width]; got 2.5',
        '  hint: sizes count whole pixels, channels or units',
    ),
    case(
        'boolean-kernel',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel: yes}
        """,
        'error: bad.yaml:3:24: layer 0: `kernel` of conv must be a positive whole number or a list [height, width]; got true',
        '  hint: true and false (also yes/no and on/off in YAML) are booleans, not numbers',
    ),
    case(
        'kernel-3x3-text',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel: 3x3}
        """,
        "error: bad.yaml:3:24: layer 0: `kernel` of conv must be a positive whole number or a list [height, width]; got '3x3' (text)",
        '  hint: write 3 for 3×3',
    ),
    case(
        'units-1e3-text',
        """
        input: 8x8x3
        layers:
          - fc: {units: 1e3}
        """,
        "error: bad.yaml:3:10: layer 0: `units` of fc must be a positive whole number; got '1e3' (text)",
        '  hint: YAML reads 1e3 as text here; write 1000',
    ),
    case(
        'kernel-three-numbers',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel: [3, 3, 3]}
        """,
        'error: bad.yaml:3:24: layer 0: `kernel` of conv must be a positive whole number or a list [height, width]; got [3, 3, 3]',
        '  hint: a list has two numbers, height and width; got 3',
    ),
    case(
        'bias-quoted',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel: 3, bias: "false"}
        """,
        "error: bad.yaml:3:35: layer 0: `bias` of conv must be true or false; got 'false' (text)",
        '  hint: write true or false without quotes',
    ),
    case(
        'dropout-p-above-1',
        """
        input: 8x8x3
        layers:
          - dropout: {p: 5}
        """,
        'error: bad.yaml:3:15: layer 0: `p` of dropout must be a number ≥ 0 and ≤ 1; got 5',
    ),
    case(
        'upsample-mode-typo',
        """
        input: 8x8x3
        layers:
          - upsample: {scale: 2, mode: bilinaer}
        """,
        "error: bad.yaml:3:26: layer 0: `mode` of upsample must be one of nearest, bilinear, bicubic; got 'bilinaer' (text)",
        '  hint: did you mean `bilinear`?',
    ),
    case(
        'kind-torch-name',
        """
        input: 8x8x3
        layers:
          - Conv2d: {filters: 8, kernel: 3}
        """,
        'error: bad.yaml:3:5: layer 0: unknown layer kind `Conv2d`; did you mean `conv`?',
        '  hint: layer kinds include conv, conv_transpose, maxpool, avgpool, global_avgpool, fc, flatten, batchnorm, layernorm, dropout, upsample, relu, gelu, silu; every kind is listed in the README under Layer kinds and their options; define your own under `blocks:`',
    ),
    case(
        'kind-keras-name',
        """
        input: 8x8x3
        layers:
          - dense: {units: 8}
        """,
        'error: bad.yaml:3:5: layer 0: unknown layer kind `dense`; did you mean `fc`?',
        '  hint: layer kinds include conv, conv_transpose, maxpool, avgpool, global_avgpool, fc, flatten, batchnorm, layernorm, dropout, upsample, relu, gelu, silu; every kind is listed in the README under Layer kinds and their options; define your own under `blocks:`',
    ),
    case(
        'option-torch-name',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel_size: 3}
        """,
        'error: bad.yaml:3:24: layer 0: conv has no option `kernel_size`; did you mean `kernel`?',
        '  hint: conv takes: filters, kernel, stride, padding, dilation, groups, bias, trainable, name, when',
    ),
    case(
        'option-inferred',
        """
        input: 8x8x3
        layers:
          - conv: {in_channels: 3, filters: 8, kernel: 3}
        """,
        'error: bad.yaml:3:12: layer 0: conv has no option `in_channels`; cnncalc works out the input channels from the layer before: remove `in_channels`',
        '  hint: conv takes: filters, kernel, stride, padding, dilation, groups, bias, trainable, name, when',
    ),
    case(
        'top-level-typo',
        """
        input: 8x8x3
        layer:
          - relu
        """,
        'error: bad.yaml:2:1: a spec has no key `layer`; did you mean `layers`?',
        '  hint: the keys of a spec are name, description, reference, task, input, layout, blocks, layers',
    ),
    case(
        'missing-filters',
        """
        input: 8x8x3
        layers:
          - conv: {kernel: 3}
        """,
        'error: bad.yaml:3:5: layer 0: conv needs `filters`',
        '  hint: e.g. `- conv: {filters: 6, kernel: 5}`',
    ),
    case(
        'options-not-indented',
        """
        input: 8x8x3
        layers:
          - conv:
            filters: 8
            kernel: 3
        """,
        'error: bad.yaml:4:5: layer 0: `filters, kernel` sits beside `conv` instead of inside its options',
        '  hint: indent the options under the kind: `- conv: {filters: …, kernel: …}`',
    ),
    case(
        'options-as-list',
        """
        input: 8x8x3
        layers:
          - conv: [8, 3]
        """,
        'error: bad.yaml:3:5: layer 0: the options of `conv` are a mapping of names to values; got [8, 3]',
        '  hint: write e.g. `- conv: {filters: 6, kernel: 5}`',
    ),
    case(
        'layer-is-a-number',
        """
        input: 8x8x3
        layers:
          - 3
        """,
        'error: bad.yaml:3:5: layer 0: each entry of `layers` is a layer kind such as `relu` or a mapping such as `conv: {filters: 6, kernel: 5}`; got 3',
        '  hint: start each layer with `- ` followed by its kind',
    ),
    case(
        'fc-before-flatten',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 4, kernel: 3}
          - fc: {units: 10}
        """,
        "error: bad.yaml:4:5: layer 1: fc needs a vector, but its input is a 6x6x4 feature map (torch's Linear would act on the width axis alone)",
        '  hint: add `- flatten` before this layer to make 144 features',
    ),
    case(
        'conv-after-flatten',
        """
        input: 8x8x3
        layers:
          - flatten
          - conv: {filters: 8, kernel: 1}
        """,
        'error: bad.yaml:4:5: layer 1: conv needs a feature map (height x width x channels), but its input is a vector of 192 features',
        '  hint: move this layer before `flatten`/`fc`, or remove it',
    ),
    case(
        'add-channels-differ',
        """
        input: 8x8x16
        layers:
          - add:
              name: res
              branches:
                - [conv: {name: a, filters: 32, kernel: 3, padding: 1}]
                - []
        """,
        'error: bad.yaml:3:5: layer res: add needs every branch to give the same shape; branch 1 (layer a) gives 8x8x32 but branch 2 (the identity) gives 8x8x16 (channels 32 vs 16)',
        '  hint: make the branches agree, e.g. a 1x1 conv with the right filters and stride on the shortcut',
    ),
    case(
        'concat-sizes-differ',
        """
        input: 8x8x16
        layers:
          - concat:
              branches:
                - [conv: {filters: 8, kernel: 3}]
                - [conv: {filters: 8, kernel: 1}]
        """,
        'error: bad.yaml:3:5: layer 0: concat joins channels, so every branch must have the same height and width; branch 1 (layer 0.branch0) gives 6x6x8 but branch 2 (layer 0.branch1) gives 8x8x8 (height and width 6×6 vs 8×8)',
        '  hint: give the branches the same strides and padding so their feature maps line up',
    ),
    case(
        'add-one-branch',
        """
        input: 8x8x3
        layers:
          - add: {branches: [[relu]]}
        """,
        'error: bad.yaml:3:5: layer 0: add needs `branches`, a list of two or more branches; got [[…]]',
        '  hint: each branch is a list of layers ([] is the identity), e.g. `branches: [[conv: {filters: 64, kernel: 3, padding: 1}], []]`',
    ),
    case(
        'groups-do-not-divide',
        """
        input: 8x8x6
        layers:
          - conv: {filters: 8, kernel: 3, groups: 4}
        """,
        'error: bad.yaml:3:5: layer 0: groups must divide both the input channels and the filters; groups 4 does not divide the 6 input channels',
        '  hint: use one of the common divisors of 6 and 8: 1, 2',
    ),
    case(
        'pool-padding-over-half',
        """
        input: 8x8x3
        layers:
          - maxpool: {kernel: 2, padding: 2}
        """,
        "error: bad.yaml:3:5: layer 0: pooling padding must be at most half the kernel (torch's rule); got padding 2 with a 2-pixel kernel",
        '  hint: use padding ≤ 1, or add a `zeropad` layer before the pool',
    ),
    case(
        'transposed-padding-too-large',
        """
        input: 2x2x3
        layers:
          - conv_transpose: {filters: 8, kernel: 1, padding: 1}
        """,
        "error: bad.yaml:3:5: layer 0: a transposed convolution's output must be at least 1 pixel, but (2 − 1)·1 − 2·1 + 1·(1 − 1) + 0 + 1 = 0 along the height: padding 1 removes 2·1 = 2 of the 2 pixels it would produce",
        '  hint: use padding ≤ 0 along the height',
    ),
    case(
        'upsample-scale-and-size',
        """
        input: 8x8x3
        layers:
          - upsample: {scale: 2, size: 16}
        """,
        'error: bad.yaml:3:5: layer 0: upsample needs exactly one of `scale`, `size` and `size_of`',
        '  hint: e.g. `- upsample: {scale: 2}`, `- upsample: {size: [56, 56]}` or `- upsample: {size_of: layer1}`',
    ),
    case(
        'block-misspelt',
        """
        input: 8x8x3
        layers:
          - bottlenek: {width: 4}
        blocks:
          bottleneck:
            args: {width: null}
            layers: [conv: {filters: $width, kernel: 1}]
        """,
        'error: bad.yaml:3:5: layer 0: unknown layer kind `bottlenek`; did you mean `bottleneck`?',
        "  hint: layer kinds include conv, conv_transpose, maxpool, avgpool, global_avgpool, fc, flatten, batchnorm, layernorm, dropout, upsample, relu, gelu, silu; every kind is listed in the README under Layer kinds and their options; this spec's blocks are bottleneck",
    ),
    case(
        'block-recursive',
        """
        input: 8x8x3
        blocks:
          a:
            layers: [relu, b]
          b:
            layers: [a]
        layers:
          - a
        """,
        'error: bad.yaml:6:14: layer 0.1.0: block `a` uses itself (a → b → a), which would never end; in `0.1`, the `b` block used at line 4',
        '  hint: a block may use other blocks, but not itself, directly or through others',
    ),
    case(
        'expression-not-whole',
        """
        input: 8x8x3
        blocks:
          b:
            args: {w: 4}
            layers: [conv: {filters: $w / 3, kernel: 1}]
        layers: [b]
        """,
        "error: bad.yaml:5:21: layer 0.0: `/` must divide exactly; '$w / 3' is 4/3, which is not a whole number; in `0`, the `b` block used at line 6",
        '  hint: use // to round down, or choose arguments that divide',
    ),
    case(
        'expression-unknown-argument',
        """
        input: 8x8x3
        blocks:
          b:
            args: {w: 4}
            layers: [conv: {filters: $width, kernel: 1}]
        layers: [b]
        """,
        "error: bad.yaml:5:21: layer 0.0: '$width' refers to $width, which is not an argument of this block (arguments: $w); in `0`, the `b` block used at line 6",
        "  hint: declare it under the block's `args:`, or fix the spelling",
    ),
    case(
        'duplicate-names',
        """
        input: 8x8x3
        layers:
          - conv: {name: c, filters: 8, kernel: 3}
          - relu: {name: c}
        """,
        'error: bad.yaml:4:5: layer c: names must be unique within their group; `c` is already taken by the layer at line 3',
        "  hint: give each layer in the same group (the spec's `layers`, a block, a sequential) its own name",
    ),
    case(
        'name-with-a-dot',
        """
        input: 8x8x3
        layers:
          - conv: {name: conv.1, filters: 8, kernel: 3}
        """,
        "error: bad.yaml:3:12: layer 0: a name is a word of letters, digits, _ and - (torch's module names); got 'conv.1' (text)",
        "  hint: e.g. `name: conv1` (a path like layer1.0.conv1 is built from the names, so a name holds no dot)",
    ),
    case(
        'when-not-boolean',
        """
        input: 8x8x3
        layers:
          - relu: {when: maybe}
        """,
        "error: bad.yaml:3:12: layer 0: `when` of relu must be true or false; got 'maybe' (text)",
        '  hint: compare block arguments, e.g. `when: $stride > 1`',
    ),
    case(
        'repeat-without-layers',
        """
        input: 8x8x3
        layers:
          - repeat: 3
        """,
        'error: bad.yaml:3:5: layer 0: `repeat` needs `layers`, the layers to repeat',
        '  hint: write `layers:` on the next line, at the same indent as `repeat:`',
    ),
    case(
        'sequential-without-layers',
        """
        input: 8x8x3
        layers:
          - sequential: {name: f}
        """,
        'error: bad.yaml:3:5: layer f: sequential needs `layers`',
        '  hint: e.g. `- sequential: {name: features, layers: [...]}`',
    ),
    case(
        'empty-network',
        """
        input: 8x8x3
        layers: []
        """,
        'error: bad.yaml:2:1: the network has no layers',
        '  hint: add at least one layer under `layers:`',
    ),
    case(
        'empty-file',
        '',
        'error: bad.yaml: a spec is a YAML mapping with `input` and `layers`; this file is empty',
        '  hint: start from `input: 32x32x3` and `layers:` followed by `- conv: {filters: 6, kernel: 5}`',
    ),
    case(
        'no-input',
        """
        layers: [relu]
        """,
        'error: bad.yaml:1:1: a spec needs `input`, the size of one input image',
        '  hint: e.g. `input: 32x32x3` (height x width x channels)',
    ),
    case(
        'input-five-numbers',
        """
        input: 2x16x224x224x3
        layers: [relu]
        """,
        "error: bad.yaml:1:1: an input shape is height x width x channels, like 32x32x3; got '2x16x224x224x3'",
        '  hint: write it as HxWxC (e.g. 224x224x3), LxC for a 1-D signal (e.g. 8000x1), DxHxWxC for a volume (e.g. 16x112x112x3), or a single number of features for a vector',
    ),
    case(
        'duplicate-key',
        """
        input: 8x8x3
        input: 8x8x4
        layers: [relu]
        """,
        'error: bad.yaml:2:1: `input` appears twice in the same mapping (first at line 1)',
        '  hint: keep one of them',
    ),
    case(
        'yaml-unclosed-brace',
        """
        input: 8x8x3
        layers:
          - conv: {filters: 8, kernel: 3
          - relu
        """,
        'error: bad.yaml:3:11: invalid YAML: this `{` is never closed: YAML still expected a `,` or `}` at line 5, column 1',
        '  hint: close it with `}` on the same line, e.g. `- conv: {filters: 8, kernel: 3}`',
    ),
    case(
        'yaml-tab',
        'input: 8x8x3\nlayers:\n\t- relu\n',
        'error: bad.yaml:3:1: invalid YAML: a tab character; YAML indents with spaces only',
        '  hint: replace the tab with spaces (two per level is usual)',
    ),
    case(
        'yaml-indentation',
        """
        input: 8x8x3
        layers:
          - relu
         - relu
        """,
        'error: bad.yaml:4:2: invalid YAML: the indentation of this line matches none of the lines above it',
        '  hint: indent the items of one list (`- `), and the keys of one mapping, by the same number of spaces',
    ),
    case(
        'yaml-colon-in-value',
        """
        name: net: 1
        input: 8x8x3
        layers: [relu]
        """,
        'error: bad.yaml:1:10: invalid YAML: a `key: value` cannot start here: this line is indented deeper than the one above it, or a value contains `: `',
        '  hint: align the keys of one mapping at the same indent; put a value that contains `: ` in quotes',
    ),
    case(
        'yaml-two-documents',
        """
        input: 8x8x3
        layers: [relu]
        ---
        input: 8x8x3
        """,
        'error: bad.yaml:3:1: a spec is one YAML document, but a second one starts here (after a `---` line)',
        '  hint: keep one network per file; remove the `---` line and what follows, or split the file',
    ),
    case(
        'yaml-python-tag',
        """
        input: 8x8x3
        layers: !!python/object:os.system [relu]
        """,
        'error: bad.yaml:2:9: cnncalc reads plain YAML; the tag `!!python/object:os.system` is not accepted',
        '  hint: remove the tag: write plain numbers, text, true/false, lists and mappings',
    ),
    case(
        'yaml-undefined-alias',
        """
        input: 8x8x3
        layers: [*x]
        """,
        'error: bad.yaml:2:10: `*x` refers to no anchor: `&x` must come before it',
        '  hint: define the anchor first (`&name` before a value), or write the value out',
    ),
    case(
        'binary-file',
        b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR',
        'error: bad.yaml: this is a binary file, not a YAML spec (byte 8 is a NUL)',
        '  hint: name a .yaml text file',
    ),
    case(
        'latin-1-file',
        b'name: caf\xe9\ninput: 8x8x3\nlayers: [relu]\n',
        'error: bad.yaml:1:10: the file is not UTF-8 text: byte 9 (0xe9) cannot be decoded; is it a binary file?',
        '  hint: save the spec as UTF-8 text, or name the right file',
    ),
    case(
        'control-character',
        'input: 8x8x3\nlayers: [relu\x07]\n',
        'error: bad.yaml:2:14: the file contains the control character U+0007, which YAML does not allow: is this a binary file?',
        '  hint: a spec is plain UTF-8 text; remove the character, or name the right file',
    ),
    case(
        'repeat-huge',
        """
        input: 8x8x3
        layers:
          - repeat: 1000000
            layers: [relu]
        """,
        'error: bad.yaml:3:5: layer 0: `repeat: 1,000,000` would make more than 250,000 layers',
        '  hint: check the count; the largest real networks have a few thousand layers',
    ),
    case(
        'input-beyond-int64',
        """
        input: 100000000000x100000000000x3
        layers: [relu]
        """,
        "error: bad.yaml:1:1: an input must fit torch's int64 (at most 9,223,372,036,854,775,807 values); 100000000000x100000000000x3 holds 30,000,000,000,000,000,000,000",
        "  hint: write the input's height x width x channels in pixels and channels, e.g. 224x224x3",
    ),
    case(
        'number-200-digits',
        """
        input: 8x8x3
        layers:
          - fc: {units: 99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999}
        """,
        'error: bad.yaml:3:17: this number has 200 digits; cnncalc reads numbers of at most 100 digits',
        "  hint: sizes fit in 19 digits (torch's int64 limit is 9,223,372,036,854,775,807)",
    ),
    case(
        'float-overflow',
        """
        input: 8x8x3
        layers:
          - dropout: {p: 1.0e+999}
        """,
        'error: bad.yaml:3:18: the number 1.0e+999 is too large: it overflows to infinity',
        '  hint: sizes are whole numbers up to 9,223,372,036,854,775,807; rates like `p` lie between 0 and 1',
    ),
    case(
        'shape-error-inside-a-block',
        """
        input: 12x12x3
        blocks:
          down:
            args: {f: null}
            layers:
              - conv: {name: conv, filters: $f, kernel: 5}
              - maxpool: {kernel: 2}
        layers:
          - down: {name: d1, f: 8}
          - down: {name: d2, f: 16}
        """,
        'error: bad.yaml:6:9: layer d2.conv: the kernel must fit inside the padded input, but along the height and the width (4 + 2·0 − 5)/1 + 1 = 0: the 5-pixel kernel is larger than the 4-pixel padded input (kernel 5×5, input 4×4, padding 0); in `d2`, the `down` block used at line 10',
        '  hint: use padding (e.g. `padding: same`) or a smaller kernel, or give the network a larger input',
    ),
    case(
        'blocks-inside-layers',
        """
        input: 8x8x3
        layers:
          - blocks:
              a: {layers: [relu]}
        """,
        'error: bad.yaml:3:5: layer 0: `blocks` belongs at the top level of the spec, not inside a list of layers',
        '  hint: move `blocks:` out to the left margin, beside `input:` and `layers:`',
    ),
    case(
        'kernel-both-axes-differ',
        """
        input: 4x6x3
        layers:
          - conv: {filters: 8, kernel: [6, 9], padding: [0, 1]}
        """,
        'error: bad.yaml:3:5: layer 0: the kernel must fit inside the padded input, but along the height (4 + 2·0 − 6)/1 + 1 = -1 and along the width (6 + 2·1 − 9)/1 + 1 = 0: the 6×9-pixel kernel is larger than the 4×8-pixel padded input (kernel 6×9, input 4×6, padding [0, 1])',
        '  hint: use padding (e.g. `padding: same`) or a smaller kernel, or give the network a larger input',
    ),
]


@pytest.mark.parametrize("spec, expected", CASES)
def test_a_bad_spec_gets_its_exact_message_exit_2_and_no_stdout(cli, tmp_path, monkeypatch, spec, expected):
    monkeypatch.chdir(tmp_path)
    if isinstance(spec, bytes):
        (tmp_path / "bad.yaml").write_bytes(spec)
    else:
        (tmp_path / "bad.yaml").write_text(spec, encoding="utf-8")
    result = cli("table", "bad.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == expected + "\n"
    assert "Traceback" not in result.output
    checked = cli("check", "bad.yaml")  # the same message from `check`, for editors and CI
    assert (checked.exit_code, checked.stdout, checked.stderr) == (2, "", expected + "\n")


def test_every_message_fits_one_screen():
    for param in CASES:
        message = param.values[1]
        assert message.startswith("error: bad.yaml")
        assert len(message.splitlines()) <= 2
        assert all(len(line) <= 400 for line in message.splitlines()), message


# --------------------------------------------------------------------------- torch agrees on what is an error


def test_torch_refuses_what_cnncalc_refuses():
    """The shape errors above are torch's errors too, not cnncalc's taste."""
    with pytest.raises(RuntimeError):
        nn.Conv2d(3, 8, 5)(torch.zeros(1, 3, 4, 4))  # kernel-larger-than-input
    with pytest.raises(RuntimeError):
        nn.Conv2d(3, 8, (6, 9), padding=(0, 1))(torch.zeros(1, 3, 4, 6))  # kernel-both-axes-differ
    with pytest.raises(ValueError):
        nn.Conv2d(6, 8, 3, groups=4)  # groups-do-not-divide
    with pytest.raises(RuntimeError):
        nn.MaxPool2d(2, padding=2)(torch.zeros(1, 3, 8, 8))  # pool-padding-over-half
    with pytest.raises(RuntimeError):
        nn.ConvTranspose2d(3, 8, 1, padding=1)(torch.zeros(1, 3, 2, 2))  # transposed-padding-too-large
    with pytest.raises(RuntimeError):
        torch.zeros(1, 32, 8, 8) + torch.zeros(1, 16, 8, 8)  # add-channels-differ
    with pytest.raises(RuntimeError):
        torch.cat([torch.zeros(1, 8, 6, 6), torch.zeros(1, 8, 8, 8)], dim=1)  # concat-sizes-differ
    with pytest.raises(RuntimeError):
        nn.Conv2d(3, 8, 1)(torch.zeros(1, 192))  # conv-after-flatten: a vector is not a feature map


# --------------------------------------------------------------------------- warnings: the run goes on


def _input_grad_rows_cols(layer: nn.Module, h: int, w: int) -> tuple[list[bool], list[bool]]:
    """Which input rows and columns the output depends on at all (torch's own answer, by autograd)."""
    x = torch.rand(1, 1, h, w, requires_grad=True)
    layer(x).sum().backward()
    used = x.grad[0, 0] != 0
    return used.any(dim=1).tolist(), used.any(dim=0).tolist()


def _ones_conv(kernel, stride, padding=0) -> nn.Conv2d:
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, bias=False)
    nn.init.ones_(conv.weight)
    return conv


WARNINGS = [
    pytest.param(
        "input: 7x7x1\nlayers:\n  - maxpool: {kernel: 2}\n",
        "warning: net.yaml:3:5: layer 0: the stride does not divide the padded input: along the height and the width "
        "(7 + 2·0 − 2)/2 + 1 = 3.5, which torch floors to 3, so the last row and column of the 7×7 input are never read\n"
        "  hint: `ceil_mode: true` keeps them in a last, partial window; or pad the input",
        # AvgPool2d(2) has MaxPool2d(2)'s windows (and output size), and its gradient reaches every pixel
        # of a window, where max pooling's reaches only the largest: it shows which pixels are ever read.
        nn.AvgPool2d(2),
        (7, 7),
        id="maxpool-drops-last-row-and-column",
    ),
    pytest.param(
        "input: 8x8x1\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2, bias: false}\n",
        "warning: net.yaml:3:5: layer 0: the stride does not divide the padded input: along the height and the width "
        "(8 + 2·0 − 3)/2 + 1 = 3.5, which torch floors to 3, so the last row and column of the 8×8 input are never read\n"
        "  hint: pad the input, or change the stride, kernel or input size so that the division is exact",
        _ones_conv(3, 2),
        (8, 8),
        id="conv-stride-2-on-even-input",
    ),
    pytest.param(
        "input: 9x8x1\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 3, bias: false}\n",
        "warning: net.yaml:3:5: layer 0: the stride does not divide the padded input: along the width "
        "(8 + 2·0 − 3)/3 + 1 ≈ 2.67, which torch floors to 2, so the last 2 columns of the 9×8 input are never read\n"
        "  hint: pad the input, or change the stride, kernel or input size so that the division is exact",
        _ones_conv(3, 3),
        (9, 8),
        id="conv-width-only",
    ),
]


@pytest.mark.parametrize("spec, expected, torch_layer, size", WARNINGS)
def test_a_stride_that_drops_input_pixels_is_a_warning_and_torch_agrees(cli, tmp_path, monkeypatch, spec, expected, torch_layer, size):
    assert nn.MaxPool2d(2)(torch.zeros(1, 1, 7, 7)).shape[-2:] == (3, 3)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(spec, encoding="utf-8")
    result = cli("table", "net.yaml")
    assert result.exit_code == 0 and result.stdout  # the run goes on
    assert result.stderr == expected + "\n"
    # torch floors as the message says, and never reads the pixels the message names
    h, w = size
    rows, cols = _input_grad_rows_cols(torch_layer, h, w)
    out = torch_layer(torch.zeros(1, 1, h, w)).shape[-2:]
    assert f"floors to {out[1]}" in expected
    never_read = f"the last {cols.count(False)} columns" if cols.count(False) > 1 else "the last row and column"
    assert never_read in expected
    assert all(rows[: h - rows.count(False)]) and all(cols[: w - cols.count(False)])


@pytest.mark.parametrize(
    "spec, torch_layer, size",
    [
        # A 1x1 stride-2 conv (ResNet's downsample) samples every other pixel by design: no warning.
        ("input: 56x56x1\nlayers:\n  - conv: {filters: 1, kernel: 1, stride: 2, bias: false}\n", _ones_conv(1, 2), (56, 56)),
        # ResNet's stem: what is left over is padding only; torch reads every real pixel.
        ("input: 224x224x1\nlayers:\n  - conv: {filters: 1, kernel: 7, stride: 2, padding: 3, bias: false}\n", _ones_conv(7, 2, 3), (224, 224)),
        ("input: 112x112x1\nlayers:\n  - maxpool: {kernel: 3, stride: 2, padding: 1}\n", nn.AvgPool2d(3, 2, 1), (112, 112)),
        # ceil_mode keeps the partial window.
        ("input: 7x7x1\nlayers:\n  - maxpool: {kernel: 2, ceil_mode: true}\n", nn.AvgPool2d(2, ceil_mode=True), (7, 7)),
    ],
)
def test_no_warning_when_no_input_pixel_is_lost_at_the_border(spec, torch_layer, size):
    analysis = engine.analyse(parse_spec(spec, file="net.yaml"))
    assert analysis.warnings == ()
    rows, cols = _input_grad_rows_cols(torch_layer, *size)
    if "kernel: 1," not in spec:
        assert all(rows) and all(cols)  # torch reads every real pixel


def test_an_unusually_large_layer_is_a_warning(cli, tmp_path, monkeypatch):
    # 100,000 x 100,000 x 512 = 5.12e12 values, x 4 bytes / 2^30 = 19,073.5 GiB.
    # (192 + 1) x 100,000,000 = 19,300,000,000 parameters, x 4 / 2^30 = 71.9 GiB.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.yaml").write_text(
        "input: 100000x100000x3\nlayers:\n  - conv: {filters: 512, kernel: 3, padding: 1}\n", encoding="utf-8"
    )
    (tmp_path / "wide.yaml").write_text("input: 8x8x3\nlayers:\n  - flatten\n  - fc: {units: 100000000}\n", encoding="utf-8")
    big = cli("check", "big.yaml")
    assert big.exit_code == 0 and big.stdout == "big.yaml: ok (1 conv/fc of 1 layer, 14,336 params, 1 warning)\n"
    assert big.stderr == (
        "warning: big.yaml:3:5: layer 0: an unusually large layer: its output holds 5,120,000,000,000 values per sample "
        "(19,073.5 GiB in float32), more than 2^31 = 2,147,483,648\n"
        "  hint: check the input size and the filters or units of this layer; an extra zero is the usual cause\n"
    )
    wide = cli("check", "wide.yaml")
    assert wide.exit_code == 0
    assert "layer 1: an unusually large layer: it has 19,300,000,000 parameters (71.9 GiB in float32)" in wide.stderr


def test_the_same_warning_from_one_spec_line_is_said_once():
    # every copy pools 7x7 with a 2x2 window ((7 - 2)/2 + 1 = 3.5) and is upsampled back to 7x7
    spec = "input: 7x7x1\nlayers:\n  - repeat: 3\n    layers: [maxpool: {kernel: 2}, upsample: {size: 7}]\n"
    analysis = engine.analyse(parse_spec(spec, file="r.yaml"))
    assert [r.output.hwc() for r in analysis.leaves()] == ["3x3x1", "7x7x1"] * 3
    assert len(analysis.warnings) == 1 and analysis.warnings[0].layer == "0"


# --------------------------------------------------------------------------- check


def test_check_prints_one_line_per_spec_on_success(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("input: 32x32x3\nlayers:\n  - conv: {filters: 6, kernel: 5}\n  - relu\n", encoding="utf-8")
    result = cli("check", "a.yaml", "lenet5")
    assert result.exit_code == 0
    # (5*5*3 + 1) * 6 = 456 params; two layers
    assert result.stdout.splitlines()[0] == "a.yaml: ok (1 conv/fc of 2 layers, 456 params)"
    assert result.stdout.splitlines()[1].startswith("lenet5: ok (")
    assert result.stderr == ""
    quiet = cli("check", "--quiet", "a.yaml")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


def test_check_reports_every_failing_spec_and_prints_nothing_on_stdout(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.yaml").write_text("input: 8x8x3\nlayers: [relu]\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("input: 8x8x3\nlayers: [rleu]\n", encoding="utf-8")
    result = cli("check", "good.yaml", "bad.yaml", "missing.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "error: bad.yaml:2:10: layer 0: unknown layer kind `rleu`; did you mean `relu`?"
    assert lines[2].startswith("error: 'missing.yaml' is neither a spec file nor a bundled model")
    assert lines[-1] == "2 of 3 specs have errors"


def test_check_at_another_input_size(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("input: 32x32x3\nlayers:\n  - conv: {filters: 6, kernel: 5}\n", encoding="utf-8")
    result = cli("check", "a.yaml", "--input", "4x4x3")
    assert result.exit_code == 2 and result.stdout == ""
    assert "(4 + 2·0 − 5)/1 + 1 = 0" in result.stderr


# --------------------------------------------------------------------------- bugs are not the user's fault


def test_an_internal_error_says_it_is_a_bug_with_exit_70_and_no_traceback(cli, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(engine, "analyse", broken)
    result = cli("table", "lenet5")
    assert result.exit_code == 70
    assert result.stdout == ""
    assert result.stderr.startswith("internal error: cnncalc failed on this input (ZeroDivisionError: boom).\n")
    assert "This is a bug in cnncalc, not in your spec" in result.stderr
    assert "--debug" in result.stderr and "Traceback" not in result.stderr


def test_debug_lets_the_traceback_through(cli, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(engine, "analyse", broken)
    result = cli("--debug", "table", "lenet5")
    assert isinstance(result.exception, ZeroDivisionError)


def test_engine_errors_carry_the_file_and_the_layer_line():
    spec = "input: 8x8x3\nlayers:\n  - relu\n  - sequential:\n      name: s\n      layers:\n        - conv: {filters: 8, kernel: 9}\n"
    with pytest.raises(CnnCalcError) as info:
        engine.analyse(parse_spec(spec, file="f.yaml"))
    assert (info.value.file, info.value.layer, str(info.value.pos)) == ("f.yaml", "s.0", "7:11")


# --------------------------------------------------------------------------- the pure-Python YAML parser says the same


YAML_MISTAKES = {
    "unclosed brace": "input: 8x8x3\nlayers:\n  - conv: {filters: 8, kernel: 3\n  - relu\n",
    "missing comma": "input: 8x8x3\nlayers:\n  - conv: {filters: 8 kernel: 3}\n",
    "unclosed bracket": "input: 8x8x3\nlayers: [relu, relu\n",
    "tab": "input: 8x8x3\nlayers:\n\t- relu\n",
    "indentation": "input: 8x8x3\nlayers:\n  - relu\n - relu\n",
    "list item after a key": "input: 8x8x3\nlayers: - relu\n",
    "colon in a value": "name: a: b\ninput: 8x8x3\n",
    "unclosed quote": "name: 'abc\ninput: 8x8x3\n",
    "stray bracket": "layers: ]\n",
    "stray brace": "layers:\n  - conv: {filters: 8, kernel: 3}}\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "undefined alias": "a: *x\n",
    "anchor without a name": "a: &\n",
    "text after the document end": "a: 1\n...\nb\n",
}


@pytest.mark.parametrize("text", YAML_MISTAKES.values(), ids=list(YAML_MISTAKES))
def test_yaml_mistakes_read_the_same_without_libyaml(monkeypatch, text):
    """Where PyYAML has no libyaml, cnncalc uses its pure-Python parser; the messages must not change."""
    import yaml

    def message() -> str:
        with pytest.raises(CnnCalcError) as info:
            parse_spec(text, file="y.yaml")
        return info.value.render()

    with_libyaml = message()
    monkeypatch.delattr(yaml, "CSafeLoader")
    assert message() == with_libyaml
    assert "invalid YAML: " in with_libyaml or "YAML document" in with_libyaml or "anchor" in with_libyaml


# --------------------------------------------------------------------------- stable codes, errors never changed once raised

CODE_CASES = [
    ("input: 8x8x3\nlayers: [relu\n", "yaml"),
    ("input: 8x8x3\nlayers: [{conv: {filters: 4}}]\n", "spec"),
    ("input: 8x8x3\nlayers: [{frobnicate: {}}]\n", "spec"),
    ("input: 0x8x3\nlayers: [relu]\n", "input-shape"),
    ("input: 4x4x3\nlayers: [{conv: {filters: 4, kernel: 7}}]\n", "layer"),
    ("input: 8x8x3\nlayers: [{conv1d: {filters: 4, kernel: 3}}]\n", "layer"),
    ("input: 8x8x3\nlayers: [{add: {branches: [[{conv: {filters: 5, kernel: 1}}], []]}}]\n", "merge"),
    ("input: 8x8x3\nlayers: [{add: {branches: [{from: nowhere}, []]}}]\n", "merge"),
    ("input: 8x8x3\nblocks: {b: {args: {w: 1}, layers: [{conv: {filters: $v, kernel: 1}}]}}\nlayers: [b]\n", "expression"),
    ("input: 8x8x3\nlayers:\n  - repeat: 300000\n    layers: [relu]\n", "limit"),
]


@pytest.mark.parametrize("text,code", CODE_CASES)
def test_every_error_family_has_its_stable_code(text, code):
    with pytest.raises(CnnCalcError) as info:
        engine.analyse(parse_spec(text, file="bad.yaml"))
    assert info.value.code == code


def test_a_missing_file_is_a_file_problem():
    from cnncalc.spec import zoo

    with pytest.raises(CnnCalcError) as info:
        zoo.load("no/such/spec.yaml")
    assert info.value.code == "file"


def test_context_makes_a_new_error_and_leaves_the_raised_one_as_it_was():
    from cnncalc.errors import LayerProblem, SourcePos

    raised = LayerProblem("the kernel must fit", hint="pad", layer="conv1", pos=SourcePos(3, 5))
    placed = raised.located(file="net.yaml").in_use("layer1.0", "basic", 12)
    assert (raised.file, raised.uses) == (None, ())
    assert placed.render() == (
        "error: net.yaml:3:5: layer conv1: the kernel must fit; in `layer1.0`, the `basic` block used at line 12\n  hint: pad"
    )
    assert type(placed) is LayerProblem and placed.code == "layer"
    assert placed.in_use("layer2.0", "basic", 20) is placed  # the innermost use is said once


@pytest.mark.parametrize("value", ["[a, b]", "{x: 1}", "3", "vidoe"])
def test_a_task_that_is_not_one_of_the_tasks_is_refused(value):
    with pytest.raises(CnnCalcError) as info:
        parse_spec(f"input: 8x8x3\ntask: {value}\nlayers: [relu]\n", file="bad.yaml")
    assert "`task` is one of classification, segmentation, video, audio" in info.value.message
