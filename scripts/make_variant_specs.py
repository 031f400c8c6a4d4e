"""Write the bundled specs that are variants of one family (widths, depths, groups) from the family's
template: VGG with and without batch norm, ResNeXt and Wide ResNet, DenseNet, ConvNeXt, ShuffleNetV2,
RegNet X and Y.

    python scripts/make_variant_specs.py        # rewrites those files in specs/

The numbers are the papers' configurations as torchvision builds them; `tests/test_torchvision_reference.py`
checks every written spec against torchvision itself. Hand-written specs (one per family) are the
templates' origin and are not touched.
"""

from __future__ import annotations

from pathlib import Path

SPECS = Path(__file__).resolve().parent.parent / "specs"
VGG_REFERENCE = 'Simonyan, Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015'
VGG = {"vgg11": ("A", [1, 1, 2, 2, 2]), "vgg13": ("B", [2, 2, 2, 2, 2]), "vgg16": ("D", [2, 2, 3, 3, 3]), "vgg19": ("E", [2, 2, 4, 4, 4])}


def vgg(name: str, bn: bool) -> str:
    config, counts = VGG[name]
    full = f"{name}_bn" if bn else name
    layer = "[conv: {filters: %d, kernel: 3, padding: 1}" + (", batchnorm" if bn else "") + ", relu]"
    stages = []
    for width, n in zip((64, 128, 256, 512, 512), counts):
        if n == 1:
            stages.append(f"        - conv: {{filters: {width}, kernel: 3, padding: 1}}")
            if bn:
                stages.append("        - batchnorm")
            stages.append("        - relu")
        else:
            stages.append(f"        - repeat: {n}\n          layers: {layer % width}")
        stages.append("        - maxpool: {kernel: 2, stride: 2}")
    return f"""name: {full}
description: VGG-{name[3:]} (configuration {config}){" with batch norm" if bn else ""}, torchvision
reference: '{VGG_REFERENCE}; torchvision.models.{full}'
input: 224x224x3

# torchvision numbers every conv{", batch norm" if bn else ""}, relu and pool of `features` in one sequence
# (features.0, features.1, ...); `repeat` without a name splices its copies into it.
layers:
  - sequential:
      name: features
      layers:
{chr(10).join(stages)}
  - adaptive_avgpool: {{name: avgpool, output_size: 7}}
  - flatten: {{name: flatten}}                # torch.flatten in forward()
  - sequential:
      name: classifier
      layers:
        - fc: {{units: 4096}}
        - relu
        - dropout: {{p: 0.5}}
        - fc: {{units: 4096}}
        - relu
        - dropout: {{p: 0.5}}
        - fc: {{units: 1000}}
"""


# name: (description, blocks per stage, groups, width per group)
RESNEXT = {
    "resnext50_32x4d": ("ResNeXt-50 32x4d (32 groups of 4 channels)", [3, 4, 6, 3], 32, 4),
    "resnext101_32x8d": ("ResNeXt-101 32x8d (32 groups of 8 channels)", [3, 4, 23, 3], 32, 8),
    "resnext101_64x4d": ("ResNeXt-101 64x4d (64 groups of 4 channels)", [3, 4, 23, 3], 64, 4),
    "wide_resnet50_2": ("Wide ResNet-50-2 (bottlenecks twice as wide)", [3, 4, 6, 3], 1, 128),
    "wide_resnet101_2": ("Wide ResNet-101-2 (bottlenecks twice as wide)", [3, 4, 23, 3], 1, 128),
}


def resnext(name: str) -> str:
    description, blocks, groups, per_group = RESNEXT[name]
    reference = (
        'Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017'
        if name.startswith("resnext")
        else 'Zagoruyko, Komodakis, "Wide Residual Networks", BMVC 2016'
    )
    stages = "\n".join(
        f"  - stage: {{name: layer{i + 1}, planes: {planes}, blocks: {n}{', stride: 2' if i else ''}}}"
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks))
    )
    return f"""name: {name}
description: {description}, torchvision
reference: '{reference}; torchvision.models.{name}'
input: 224x224x3

blocks:
  # torchvision's Bottleneck with groups {groups} and {per_group} channels per group: the 3x3 conv is
  # planes·{per_group}/64·{groups} wide and grouped; the block's output is planes·4.
  bottleneck:
    args: {{planes: null, stride: 1, downsample: false}}
    layers:
      - add:
          name: add
          branches:
            - - conv: {{name: conv1, filters: $planes * {per_group * groups} // 64, kernel: 1, bias: false}}
              - batchnorm: {{name: bn1}}
              - relu: {{name: relu1}}
              - conv: {{name: conv2, filters: $planes * {per_group * groups} // 64, kernel: 3, stride: $stride, padding: 1, groups: {groups}, bias: false}}
              - batchnorm: {{name: bn2}}
              - relu: {{name: relu2}}
              - conv: {{name: conv3, filters: $planes * 4, kernel: 1, bias: false}}
              - batchnorm: {{name: bn3}}
            - name: downsample
              when: $downsample
              layers:
                - conv: {{filters: $planes * 4, kernel: 1, stride: $stride, bias: false}}
                - batchnorm
      - relu: {{name: relu}}

  stage:
    args: {{planes: null, blocks: null, stride: 1}}
    layers:
      - bottleneck: {{planes: $planes, stride: $stride, downsample: true}}
      - repeat: $blocks - 1
        layers: [bottleneck: {{planes: $planes}}]

layers:
  - conv: {{name: conv1, filters: 64, kernel: 7, stride: 2, padding: 3, bias: false}}
  - batchnorm: {{name: bn1}}
  - relu: {{name: relu}}
  - maxpool: {{name: maxpool, kernel: 3, stride: 2, padding: 1}}
{stages}
  - global_avgpool: {{name: avgpool}}
  - flatten: {{name: flatten}}
  - fc: {{name: fc, units: 1000}}
"""


# name: (growth rate, initial features, layers per block)
DENSENET = {"densenet121": (32, 64, [6, 12, 24, 16]), "densenet161": (48, 96, [6, 12, 36, 24]),
            "densenet169": (32, 64, [6, 12, 32, 32]), "densenet201": (32, 64, [6, 12, 48, 32])}


def densenet(name: str) -> str:
    growth, init, blocks = DENSENET[name]
    body = []
    for i, n in enumerate(blocks, start=1):
        body.append(f"        - dense_block: {{name: denseblock{i}, n: {n}}}")
        if i < len(blocks):
            body.append(f"        - transition: {{name: transition{i}}}")
    return f"""name: {name}
description: DenseNet-{name[8:]} (growth rate {growth}), torchvision
reference: 'Huang et al., "Densely Connected Convolutional Networks", CVPR 2017; torchvision.models.{name}'
input: 224x224x3

blocks:
  # Each dense layer computes {growth} new channels from everything before it and appends them:
  # concat of the identity (the features so far) and the new features, in that order.
  dense_layer:
    args: {{growth: {growth}, bn_size: 4}}
    layers:
      - concat:
          name: cat
          branches:
            - []
            - - batchnorm: {{name: norm1}}
              - relu: {{name: relu1}}
              - conv: {{name: conv1, filters: $bn_size * $growth, kernel: 1, bias: false}}
              - batchnorm: {{name: norm2}}
              - relu: {{name: relu2}}
              - conv: {{name: conv2, filters: $growth, kernel: 3, padding: 1, bias: false}}

  dense_block:
    args: {{n: null}}
    layers:
      - repeat: $n
        layers: [dense_layer: {{name: denselayer$($index + 1)}}]   # torchvision's denselayer1, denselayer2, …

  # Halves the channels and the spatial size.
  transition:
    layers:
      - batchnorm: {{name: norm}}
      - relu: {{name: relu}}
      - conv: {{name: conv, filters: $in.channels // 2, kernel: 1, bias: false}}
      - avgpool: {{name: pool, kernel: 2, stride: 2}}

layers:
  - sequential:
      name: features
      layers:
        - conv: {{name: conv0, filters: {init}, kernel: 7, stride: 2, padding: 3, bias: false}}   # 112x112x{init}
        - batchnorm: {{name: norm0}}
        - relu: {{name: relu0}}
        - maxpool: {{name: pool0, kernel: 3, stride: 2, padding: 1}}
{chr(10).join(body)}
        - batchnorm: {{name: norm5}}
  - relu: {{name: relu}}                    # F.relu in torchvision's forward()
  - global_avgpool: {{name: avgpool}}       # F.adaptive_avg_pool2d(out, (1, 1))
  - flatten: {{name: flatten}}
  - fc: {{name: classifier, units: 1000}}
"""


# name: (stem width, stage widths, blocks per stage, stochastic depth rate)
CONVNEXT = {"convnext_tiny": (96, [3, 3, 9, 3], 0.1), "convnext_small": (96, [3, 3, 27, 3], 0.4),
            "convnext_base": (128, [3, 3, 27, 3], 0.5), "convnext_large": (192, [3, 3, 27, 3], 0.5)}


def convnext(name: str) -> str:
    width, depths, rate = CONVNEXT[name]
    total = sum(depths)
    stages, first = [], 0
    for i, n in enumerate(depths):
        if i:
            stages.append(f"        - downsample                                     # {width * 2**i} channels")
        stages.append(f"        - stage: {{n: {n}, first: {first}}}")
        first += n
    widths = "-".join(str(width * 2**i) for i in range(4))
    return f"""name: {name}
description: ConvNeXt-{name[9:].capitalize()} ({widths}, {'-'.join(map(str, depths))} blocks), torchvision
reference: 'Liu et al., "A ConvNet for the 2020s", CVPR 2022; torchvision.models.{name}'
input: 224x224x3

blocks:
  # CNBlock: 7x7 depthwise conv, then LayerNorm and an MLP (4x wider) on the channels of every position
  # (between two permutes, as torchvision computes it channels-last), a learned per-channel scale γ,
  # stochastic depth, and the residual.
  cn_block:
    args: {{p: 0.0}}
    layers:
      - add:
          name: add
          branches:
            - - sequential:
                  name: block
                  layers:
                    - conv: {{filters: $in.channels, kernel: 7, padding: 3, groups: $in.channels}}
                    - permute: {{order: [0, 2, 3, 1]}}
                    - layernorm: {{eps: 1e-6}}
                    - fc: {{units: $in.channels * 4, per_position: true}}
                    - gelu
                    - fc: {{units: $in.channels, per_position: true}}
                    - permute: {{order: [0, 3, 1, 2]}}
              - layer_scale: {{name: layer_scale, init: 1e-6}}
              - stochastic_depth: {{name: stochastic_depth, p: $p}}
            - []

  # A stage of n blocks; the stochastic depth rate grows linearly to {rate} over the network's {total} blocks.
  stage:
    args: {{n: null, first: null}}
    layers:
      - repeat: $n
        layers: [cn_block: {{p: $({rate} * ($first + $index) / {total - 1})}}]

  # Between stages: LayerNorm2d, then a 2x2 stride-2 conv that doubles the channels.
  downsample:
    layers:
      - layernorm: {{eps: 1e-6}}
      - conv: {{filters: $in.channels * 2, kernel: 2, stride: 2}}

layers:
  - sequential:
      name: features
      layers:
        - sequential:                                    # the "patchify" stem: 4x4 patches, 56x56x{width}
            layers:
              - conv: {{filters: {width}, kernel: 4, stride: 4}}
              - layernorm: {{eps: 1e-6}}
{chr(10).join(stages)}
  - global_avgpool: {{name: avgpool}}
  - sequential:
      name: classifier
      layers:
        - layernorm: {{eps: 1e-6}}                         # LayerNorm2d on the 1x1 map
        - flatten
        - fc: {{units: 1000}}
"""


SHUFFLENET = {"shufflenet_v2_x0_5": ("0.5x", [48, 96, 192], 1024), "shufflenet_v2_x1_0": ("1.0x", [116, 232, 464], 1024),
              "shufflenet_v2_x1_5": ("1.5x", [176, 352, 704], 1024), "shufflenet_v2_x2_0": ("2.0x", [244, 488, 976], 2048)}


def shufflenet(name: str) -> str:
    label, widths, last = SHUFFLENET[name]
    text = (SPECS / "shufflenet_v2_x1_0.yaml").read_text()
    text = text.replace("name: shufflenet_v2_x1_0", f"name: {name}").replace("torchvision.models.shufflenet_v2_x1_0", f"torchvision.models.{name}")
    text = text.replace("ShuffleNetV2 1.0x (24-116-232-464-1024)", f"ShuffleNetV2 {label} (24-{'-'.join(map(str, widths))}-{last})")
    for old, new in zip((116, 232, 464), widths):
        text = text.replace(f"out: {old}, n:", f"out: {new}, n:").replace(f"x{old}", f"x{new}")
    return text.replace("filters: 1024, kernel: 1", f"filters: {last}, kernel: 1")


# name: (stage widths, blocks per stage, group width per stage); Y adds squeeze-excitation (a quarter of
# each block's input), X has none. torchvision's BlockParams.from_init_params computes these from
# (depth, w_0, w_a, w_m, group width) and makes widths and groups compatible; they are copied here.
REGNET = {
    "regnet_y_400mf": ([48, 104, 208, 440], [1, 3, 6, 6], [8] * 4),
    "regnet_y_800mf": ([64, 144, 320, 784], [1, 3, 8, 2], [16] * 4),
    "regnet_y_1_6gf": ([48, 120, 336, 888], [2, 6, 17, 2], [24] * 4),
    "regnet_y_3_2gf": ([72, 216, 576, 1512], [2, 5, 13, 1], [24] * 4),
    "regnet_y_8gf": ([224, 448, 896, 2016], [2, 4, 10, 1], [56] * 4),
    "regnet_y_16gf": ([224, 448, 1232, 3024], [2, 4, 11, 1], [112] * 4),
    "regnet_y_32gf": ([232, 696, 1392, 3712], [2, 5, 12, 1], [232] * 4),
    "regnet_y_128gf": ([528, 1056, 2904, 7392], [2, 7, 17, 1], [264] * 4),
    "regnet_x_400mf": ([32, 64, 160, 400], [1, 2, 7, 12], [16] * 4),
    "regnet_x_800mf": ([64, 128, 288, 672], [1, 3, 7, 5], [16] * 4),
    "regnet_x_1_6gf": ([72, 168, 408, 912], [2, 4, 10, 2], [24] * 4),
    "regnet_x_3_2gf": ([96, 192, 432, 1008], [2, 6, 15, 2], [48] * 4),
    "regnet_x_8gf": ([80, 240, 720, 1920], [2, 5, 15, 1], [80, 120, 120, 120]),
    "regnet_x_16gf": ([256, 512, 896, 2048], [2, 6, 13, 1], [128] * 4),
    "regnet_x_32gf": ([336, 672, 1344, 2520], [2, 7, 13, 1], [168] * 4),
}


def regnet(name: str) -> str:
    widths, depths, group_widths = REGNET[name]
    y = name.startswith("regnet_y")
    flops = name.rsplit("_", 1)[-1].replace("_", ".").upper()
    label = f"RegNet{'Y' if y else 'X'}-{name.split('_', 2)[2].replace('_', '.').upper()}"
    stages = "\n".join(
        f"        - stage: {{name: block{i + 1}, width: {w}, n: {n}, stage: {i + 1}, groups: {w // g}}}"
        for i, (w, n, g) in enumerate(zip(widths, depths, group_widths))
    )
    se = (
        """                - squeeze_excitation: {name: se, squeeze: $in.channels // 4}
"""
        if y
        else ""
    )
    se_block = (
        """  squeeze_excitation:
    args: {squeeze: null}
    layers:
      - multiply:
          name: scale
          branches:
            - []
            - - global_avgpool: {name: avgpool}
              - conv: {name: fc1, filters: $squeeze, kernel: 1}
              - relu: {name: activation}
              - conv: {name: fc2, filters: $in.channels, kernel: 1}
              - sigmoid: {name: scale_activation}

"""
        if y
        else ""
    )
    del flops
    size = 384 if name == "regnet_y_128gf" else 224  # 128GF's only weights (SWAG) are for 384x384 inputs
    return f"""name: {name}
description: {label} (widths {'-'.join(map(str, widths))}, depths {'-'.join(map(str, depths))}, group width {group_widths[-1]}{', squeeze-excitation' if y else ''}), torchvision
reference: 'Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; torchvision.models.{name}'
input: {size}x{size}x3

blocks:
  conv_bn_relu:
    args: {{filters: null, kernel: 1, stride: 1, groups: 1, act: true}}
    layers:
      - conv: {{filters: $filters, kernel: $kernel, stride: $stride, padding: $kernel // 2, groups: $groups, bias: false}}
      - batchnorm
      - relu: {{when: $act, inplace: true}}

{se_block}  # ResBottleneckBlock: 1x1, 3x3 grouped with the stride{', squeeze-excitation' if y else ''}, 1x1; a projection
  # shortcut where the shape changes; ReLU after the sum.
  block:
    args: {{width: null, stride: 1, groups: 1}}
    layers:
      - add:
          name: add
          branches:
            - name: proj
              when: $stride > 1 or $in.channels != $width
              layers:
                - conv: {{filters: $width, kernel: 1, stride: $stride, bias: false}}
                - batchnorm
            - name: f
              layers:
                - conv_bn_relu: {{name: a, filters: $width}}
                - conv_bn_relu: {{name: b, filters: $width, kernel: 3, stride: $stride, groups: $groups}}
{se}                - conv_bn_relu: {{name: c, filters: $width, act: false}}
      - relu: {{name: activation, inplace: true}}

  stage:
    args: {{width: null, n: null, stage: null, groups: null}}
    layers:
      - block: {{name: block$stage-0, width: $width, stride: 2, groups: $groups}}
      - repeat: $n - 1
        layers: [block: {{name: block$stage-$($index + 1), width: $width, groups: $groups}}]

layers:
  - conv_bn_relu: {{name: stem, filters: 32, kernel: 3, stride: 2}}    # 112x112x32
  - sequential:
      name: trunk_output
      layers:
{stages}
  - global_avgpool: {{name: avgpool}}
  - flatten: {{name: flatten}}
  - fc: {{name: fc, units: 1000}}
"""


def make_divisible(value: float, divisor: int = 8) -> int:
    """The nearest multiple of `divisor`, never 10 % below `value` (the MobileNet/EfficientNet channel rule)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


# EfficientNet-B0's stages: expansion t, kernel, stride, output channels, blocks; scaled per variant.
EFFICIENTNET_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
# name: (width multiplier, depth multiplier, input size (torchvision's crop for its weights), dropout)
EFFICIENTNET = {
    "efficientnet_b0": (1.0, 1.0, 224, 0.2), "efficientnet_b1": (1.0, 1.1, 240, 0.2), "efficientnet_b2": (1.1, 1.2, 288, 0.3),
    "efficientnet_b3": (1.2, 1.4, 300, 0.3), "efficientnet_b4": (1.4, 1.8, 380, 0.4), "efficientnet_b5": (1.6, 2.2, 456, 0.4),
    "efficientnet_b6": (1.8, 2.6, 528, 0.5), "efficientnet_b7": (2.0, 3.1, 600, 0.5),
}


def efficientnet(name: str) -> str:
    import math

    width, depth, size, dropout = EFFICIENTNET[name]
    stages = [(t, k, st, make_divisible(c * width), math.ceil(n * depth)) for t, k, st, c, n in EFFICIENTNET_STAGES]
    total = sum(n for *_, n in stages)
    stem, last = make_divisible(32 * width), 4 * stages[-1][3]
    lines, first = [], 0
    for t, k, st, c, n in stages:
        options = [f"out: {c}"] + ([f"t: {t}"] if t != 6 else []) + ([f"kernel: {k}"] if k != 3 else []) + ([f"stride: {st}"] if st != 1 else [])
        lines.append(f"        - stage: {{{', '.join(options)}, n: {n}, first: {first}, total: {total}}}")
        first += n
    text = (SPECS / "efficientnet_b0.yaml").read_text()
    head, _, rest = text.partition("layers:\n  - sequential:\n      name: features")
    head = head.replace("name: efficientnet_b0", f"name: {name}").replace("torchvision.models.efficientnet_b0", f"torchvision.models.{name}")
    head = head.replace("EfficientNet-B0 (width 1.0, depth 1.0, 224x224)", f"EfficientNet-{name[-2:].upper()} (width {width}, depth {depth}, {size}x{size})")
    head = head.replace("input: 224x224x3", f"input: {size}x{size}x3")
    return head + f"""layers:
  - sequential:
      name: features
      layers:
        - conv_bn_silu: {{filters: {stem}, kernel: 3, stride: 2}}
{chr(10).join(lines)}
        - conv_bn_silu: {{filters: {last}}}
  - global_avgpool: {{name: avgpool}}
  - flatten: {{name: flatten}}
  - sequential:
      name: classifier
      layers:
        - dropout: {{p: {dropout}}}
        - fc: {{units: 1000}}
"""


MNASNET = {"mnasnet0_5": 0.5, "mnasnet0_75": 0.75, "mnasnet1_0": 1.0, "mnasnet1_3": 1.3}
# (input index in the widths, output index, kernel, stride, expansion, repeats): MNASNet-A1's stacks
MNASNET_STACKS = [(1, 2, 3, 2, 3, 3), (2, 3, 5, 2, 3, 3), (3, 4, 5, 2, 6, 3), (4, 5, 3, 1, 6, 2), (5, 6, 5, 2, 6, 4), (6, 7, 3, 1, 6, 1)]


def mnasnet(name: str) -> str:
    alpha = MNASNET[name]
    widths = [make_divisible(d * alpha) for d in (32, 16, 24, 40, 80, 96, 192, 320)]
    stacks = "\n".join(
        f"        - stack: {{out: {widths[o]}, kernel: {k}, stride: {st}, t: {t}, n: {n}}}" for _, o, k, st, t, n in MNASNET_STACKS
    )
    return f"""name: {name}
description: MNASNet {alpha} (MNASNet-A1 scaled by {alpha}), torchvision
reference: 'Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", CVPR 2019; torchvision.models.{name}'
input: 224x224x3

blocks:
  # 1x1 expansion t times, k x k depthwise (with the stride), 1x1 projection; the residual only where
  # stride 1 keeps the width.
  body:
    args: {{out: null, kernel: null, stride: 1, t: null}}
    layers:
      - conv: {{filters: $in.channels * $t, kernel: 1, bias: false}}
      - batchnorm
      - relu: {{inplace: true}}
      - conv: {{filters: $in.channels * $t, kernel: $kernel, stride: $stride, padding: $kernel // 2, groups: $in.channels * $t, bias: false}}
      - batchnorm
      - relu: {{inplace: true}}
      - conv: {{filters: $out, kernel: 1, bias: false}}
      - batchnorm

  inverted_residual:
    args: {{out: null, kernel: null, stride: 1, t: null}}
    layers:
      - add:
          name: add
          when: $stride == 1 and $in.channels == $out
          branches:
            - [body: {{name: layers, out: $out, kernel: $kernel, t: $t}}]
            - []
      - body: {{name: layers, when: $stride != 1 or $in.channels != $out, out: $out, kernel: $kernel, stride: $stride, t: $t}}

  stack:
    args: {{out: null, kernel: null, stride: null, t: null, n: null}}
    layers:
      - inverted_residual: {{out: $out, kernel: $kernel, stride: $stride, t: $t}}
      - repeat: $n - 1
        layers: [inverted_residual: {{out: $out, kernel: $kernel, t: $t}}]

layers:
  - sequential:
      name: layers
      layers:
        - conv: {{filters: {widths[0]}, kernel: 3, stride: 2, padding: 1, bias: false}}      # 112x112
        - batchnorm
        - relu: {{inplace: true}}
        - conv: {{filters: {widths[0]}, kernel: 3, padding: 1, groups: {widths[0]}, bias: false}}
        - batchnorm
        - relu: {{inplace: true}}
        - conv: {{filters: {widths[1]}, kernel: 1, bias: false}}
        - batchnorm
{stacks}
        - conv: {{filters: 1280, kernel: 1, bias: false}}                         # 7x7x1280
        - batchnorm
        - relu: {{inplace: true}}
  - global_avgpool: {{name: mean}}    # x.mean([2, 3]) in torchvision's forward(): a vector of 1280
  - flatten: {{name: flatten}}
  - sequential:
      name: classifier
      layers:
        - dropout: {{p: 0.2, inplace: true}}
        - fc: {{units: 1000}}
"""


# EfficientNetV2: (block, expansion, stride, output channels, blocks) per stage after a 3x3 stem;
# "fused" stages merge the expansion and the depthwise conv into one k x k conv (FusedMBConv).
EFFICIENTNET_V2 = {
    "efficientnet_v2_s": (384, 0.2, [("fused", 1, 1, 24, 2), ("fused", 4, 2, 48, 4), ("fused", 4, 2, 64, 4), ("mb", 4, 2, 128, 6), ("mb", 6, 1, 160, 9), ("mb", 6, 2, 256, 15)]),
    "efficientnet_v2_m": (480, 0.3, [("fused", 1, 1, 24, 3), ("fused", 4, 2, 48, 5), ("fused", 4, 2, 80, 5), ("mb", 4, 2, 160, 7), ("mb", 6, 1, 176, 14), ("mb", 6, 2, 304, 18), ("mb", 6, 1, 512, 5)]),
    "efficientnet_v2_l": (480, 0.4, [("fused", 1, 1, 32, 4), ("fused", 4, 2, 64, 7), ("fused", 4, 2, 96, 7), ("mb", 4, 2, 192, 10), ("mb", 6, 1, 224, 19), ("mb", 6, 2, 384, 25), ("mb", 6, 1, 640, 7)]),
}


def efficientnet_v2(name: str) -> str:
    size, dropout, stages = EFFICIENTNET_V2[name]
    total = sum(n for *_, n in stages)
    lines, first = [], 0
    for block, t, st, c, n in stages:
        lines.append(f"        - stage: {{block: {block}, out: {c}, t: {t}, stride: {st}, n: {n}, first: {first}, total: {total}}}")
        first += n
    text = (SPECS / "efficientnet_b0.yaml").read_text()
    head, _, _ = text.partition("  # A stage: its first block")
    head = head.replace("name: efficientnet_b0", f"name: {name}").replace("torchvision.models.efficientnet_b0", f"torchvision.models.{name}")
    head = head.replace("EfficientNet-B0 (width 1.0, depth 1.0, 224x224)", f"EfficientNetV2-{name[-1].upper()} ({size}x{size})")
    head = head.replace('Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019', 'Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021')
    head = head.replace("input: 224x224x3", f"input: {size}x{size}x3")
    return head + f"""  # FusedMBConv: one k x k conv expanding t times (with the stride), then a 1x1 projection; with t = 1 the
  # k x k conv gives the output channels itself. No squeeze-excitation.
  fused_body:
    args: {{out: null, t: null, stride: 1}}
    layers:
      - conv_bn_silu: {{when: $t != 1, filters: $in.channels * $t, kernel: 3, stride: $stride}}
      - conv_bn_silu: {{when: $t != 1, filters: $out, act: false}}
      - conv_bn_silu: {{when: $t == 1, filters: $out, kernel: 3, stride: $stride}}

  fused_mbconv:
    args: {{out: null, t: 1, stride: 1, p: 0.0}}
    layers:
      - add:
          name: add
          when: $stride == 1 and $in.channels == $out
          branches:
            - - fused_body: {{name: block, out: $out, t: $t, stride: $stride}}
              - stochastic_depth: {{name: stochastic_depth, p: $p}}
            - []
      - fused_body: {{name: block, when: $stride != 1 or $in.channels != $out, out: $out, t: $t, stride: $stride}}

  # A stage of fused or plain MBConv blocks; the stochastic depth rate grows to 0.2 over the network.
  stage:
    args: {{block: null, out: null, t: null, stride: 1, n: null, first: null, total: null}}
    layers:
      - fused_mbconv: {{when: $block == 'fused', out: $out, t: $t, stride: $stride, p: $(0.2 * $first / $total)}}
      - mbconv: {{when: $block == 'mb', out: $out, t: $t, stride: $stride, p: $(0.2 * $first / $total)}}
      - repeat: $n - 1
        layers:
          - fused_mbconv: {{when: $block == 'fused', out: $out, t: $t, p: $(0.2 * ($first + $index + 1) / $total)}}
          - mbconv: {{when: $block == 'mb', out: $out, t: $t, p: $(0.2 * ($first + $index + 1) / $total)}}

layers:
  - sequential:
      name: features
      layers:
        - conv_bn_silu: {{filters: {stages[0][3]}, kernel: 3, stride: 2}}
{chr(10).join(lines)}
        - conv_bn_silu: {{filters: 1280}}
  - global_avgpool: {{name: avgpool}}
  - flatten: {{name: flatten}}
  - sequential:
      name: classifier
      layers:
        - dropout: {{p: {dropout}}}
        - fc: {{units: 1000}}
"""


def main() -> None:
    written = {}
    for name in VGG:
        for bn in (False, True):
            written[f"{name}_bn" if bn else name] = vgg(name, bn)
    written.update({name: resnext(name) for name in RESNEXT})
    written.update({name: densenet(name) for name in DENSENET})
    written.update({name: convnext(name) for name in CONVNEXT})
    written.update({name: shufflenet(name) for name in SHUFFLENET if name != "shufflenet_v2_x1_0"})
    written.update({name: regnet(name) for name in REGNET})
    written.update({name: efficientnet(name) for name in EFFICIENTNET if name != "efficientnet_b0"})
    written.update({name: mnasnet(name) for name in MNASNET})
    written.update({name: efficientnet_v2(name) for name in EFFICIENTNET_V2})
    for name, text in written.items():
        (SPECS / f"{name}.yaml").write_text(text)
    print(f"wrote {len(written)} specs: {', '.join(written)}")


if __name__ == "__main__":
    main()
