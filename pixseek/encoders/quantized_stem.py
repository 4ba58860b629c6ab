"""The int8 model's first convolution, moved onto the raw uint8 pixels.

The export scales pixels inside the graph (uint8 -> Transpose -> Cast -> Div 127.5 -> Sub 1 -> Conv ->
Clip), and ONNX Runtime's quantizer leaves that convolution in float: quantizing its input would
requantize pixels that are integers already. Run that way, the float stem, its layout reorders and the
scaling took 29% of the int8 model's time (ONNX Runtime's profiler, batch 64, 2 threads).

Rewritten here, the pixels themselves are the quantized input: DequantizeLinear(x, 1/127.5, 128) is the
scaling up to a shift of 1/255, folded into the bias, so the input carries no quantization error and
the whole graph runs as QLinearConv in NHWC (ONNX Runtime fuses DQ -> Conv -> Q). The 27 weights of each
output channel are int8 per channel, rounded by minimising their error on pixel patches of the
calibration pictures (a small AdaRound: the error along the patches' dominant directions, such as flat
grey, cancels instead of adding up), which matters: rounded to nearest, agreement with the float model
fell by 0.001 (docs/benchmarks.md, "Int8 encoders").
"""

from __future__ import annotations

import numpy as np

_PREFIX = "pixseek_stem_"
_CHAIN = ("Transpose", "Cast", "Div", "Sub", "Conv", "Clip", "QuantizeLinear")


def quantize_stem(model, pictures: np.ndarray) -> None:
    """Rewrite `model` (an onnx ModelProto quantized with its stem in float) in place; `pictures` are the
    (n, size, size, 3) uint8 calibration pictures. Raises ValueError if the graph is not the export's."""
    from onnx import helper
    from onnx import numpy_helper as nh

    g = model.graph
    users: dict[str, list] = {}
    for n in g.node:
        for name in n.input:
            users.setdefault(name, []).append(n)
    chain, at = [], g.input[0].name
    for op in _CHAIN:
        nxt = users.get(at, [])
        if len(nxt) != 1 or nxt[0].op_type != op:
            raise ValueError(f"unexpected graph at {at!r}: wanted one {op}")
        chain.append(nxt[0])
        at = nxt[0].output[0]
    transpose, _, div, sub, conv, _, _ = chain
    values = {i.name: nh.to_array(i) for i in g.initializer}
    values.update({n.output[0]: nh.to_array(n.attribute[0].t) for n in g.node if n.op_type == "Constant"})
    divisor, offset = float(values[div.input[1]]), float(values[sub.input[1]])  # y = x / divisor - offset
    weights = values[conv.input[1]].astype(np.float64)
    bias = values[conv.input[2]].astype(np.float64) if len(conv.input) > 2 else np.zeros(len(weights))

    x_scale = 1.0 / divisor
    x_zero = int(np.clip(round(offset * divisor), 0, 255))
    shift = offset - x_zero * x_scale  # y = dequantized - shift (-1/255 for the export's 127.5 and 1)
    bias = bias - shift * weights.sum(axis=(1, 2, 3))
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    q, w_scale = _round_weights(weights, bias, x_scale, _patches(pictures, x_zero, x_scale, weights.shape[2:],
                                                                 attrs.get("strides", [1, 1])))
    b_scale = x_scale * w_scale
    p = _PREFIX
    g.initializer.extend([
        nh.from_array(np.array(x_scale, np.float32), p + "x_scale"),
        nh.from_array(np.array(x_zero, np.uint8), p + "x_zero"),
        nh.from_array(q.astype(np.int8), p + "w"),
        nh.from_array(w_scale.astype(np.float32), p + "w_scale"),
        nh.from_array(np.zeros(len(q), np.int8), p + "w_zero"),
        nh.from_array(np.round(bias / b_scale).astype(np.int32), p + "b"),
        nh.from_array(b_scale.astype(np.float32), p + "b_scale"),
        nh.from_array(np.zeros(len(q), np.int32), p + "b_zero"),
    ])
    new = [
        helper.make_node("DequantizeLinear", [transpose.output[0], p + "x_scale", p + "x_zero"], [p + "x_dq"],
                         name=p + "x_dq"),
        helper.make_node("DequantizeLinear", [p + "w", p + "w_scale", p + "w_zero"], [p + "w_dq"], name=p + "w_dq",
                         axis=0),
        helper.make_node("DequantizeLinear", [p + "b", p + "b_scale", p + "b_zero"], [p + "b_dq"], name=p + "b_dq",
                         axis=0),
        helper.make_node("Conv", [p + "x_dq", p + "w_dq", p + "b_dq"], list(conv.output), name=p + "conv", **attrs),
    ]
    dropped = {id(n) for n in chain[1:5]}  # Cast, Div, Sub and the float Conv; the Clip stays (fused by ORT)
    nodes = []
    for n in g.node:
        if id(n) not in dropped:
            nodes.append(n)
        if n is transpose:
            nodes.extend(new)
    del g.node[:]
    g.node.extend(nodes)
    used = {name for n in g.node for name in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)


def _patches(pictures: np.ndarray, x_zero: int, x_scale: float, kernel, strides) -> np.ndarray:
    """The convolution's input patches over the pictures, dequantized, as rows in the weights' (c, kh, kw)
    order."""
    x = (pictures.astype(np.float64) - x_zero) * x_scale  # n, h, w, c
    (kh, kw), (sh, sw) = kernel, strides
    h, w = x.shape[1:3]
    taps = [x[:, i:h - kh + 1 + i:sh, j:w - kw + 1 + j:sw, :] for i in range(kh) for j in range(kw)]
    return np.stack(taps, -1).reshape(-1, x.shape[3] * kh * kw)


def _round_weights(weights: np.ndarray, bias: np.ndarray, x_scale: float, patches: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel: a symmetric int8 scale and the int8 weights that minimise the output error on
    the patches, E[(dw . patch)^2] (coordinate descent from rounding to nearest)."""
    flat = weights.reshape(len(weights), -1)
    scale = np.abs(flat).max(1) / 127.0
    scale = np.maximum(scale, np.abs(bias) / (x_scale * 2**30))  # a dead channel's bias must fit int32
    scale[scale == 0] = 1.0
    moment = patches.T @ patches / len(patches)
    out = np.clip(np.round(flat / scale[:, None]), -127, 127)
    for o in range(len(flat)):
        q = out[o]
        err = flat[o] - scale[o] * q
        best = err @ moment @ err
        for _ in range(50):
            improved = False
            for j in range(len(q)):
                for step in (-1.0, 1.0):
                    if abs(q[j] + step) > 127:
                        continue
                    q[j] += step
                    err = flat[o] - scale[o] * q
                    if (e := err @ moment @ err) < best - 1e-15:
                        best, improved = e, True
                    else:
                        q[j] -= step
            if not improved:
                break
    return out.reshape(weights.shape), scale
