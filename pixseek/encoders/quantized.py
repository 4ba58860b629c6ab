"""Int8 copies of the EfficientNet-Lite ONNX exports, made once with ONNX Runtime's own quantizer.

Static QDQ quantization: int8 weights per output channel, uint8 activations whose ranges come from
generated calibration pictures (encoders/calibration.py), through the percentile recipe below. Kept in
float: the classifier head (pooling, fully connected layer, softmax), since quantized the class
probabilities come out in steps of 1/255 and the image vectors built from them (encoders/visual.py)
drift far more than the features do. The first convolution is left out of the quantizer and then
rewritten to take the raw uint8 pixels as its quantized input (encoders/quantized_stem.py): in float, it
and the scaling before it took 29% of the int8 model's time. The recipe was chosen by measurement against
the float model on held-out real photos: docs/benchmarks.md, "Int8 encoders".

Same inputs and outputs as the float file (uint8 NHWC pixels -> features, probs), so OnnxImageEncoder
runs it unchanged; on a CPU with VNNI it runs about 2.2x as fast.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import numpy as np

from pixseek.encoders.onnx_files import onnx_output
from pixseek.encoders.quantized_stem import quantize_stem

SUFFIX = "-int8"
QUANT_VERSION = 3  # part of the cached file's name: a new recipe builds a new file
CALIBRATION_PICTURES = 24  # as good as 48 or 96 (measured), and the calibration's memory grows with them: 2 GB
PERCENTILE = 99.999
FLOAT_HEAD = ("ReduceMean", "Gemm", "Softmax")  # node types kept in float (see the module docstring)


def split_spec(spec: str) -> tuple[str, bool]:
    """("efficientnet-lite0", True) for "efficientnet-lite0-int8"; (spec, False) for a float spec."""
    return (spec[: -len(SUFFIX)], True) if spec.endswith(SUFFIX) else (spec, False)


def _pictures(pixels: np.ndarray, input_name: str, batch: int = 8):
    """An ONNX Runtime CalibrationDataReader over the calibration pictures, a few at a time."""
    from onnxruntime.quantization import CalibrationDataReader

    class Pictures(CalibrationDataReader):
        def __init__(self) -> None:
            self.at = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.at >= len(pixels):
                return None
            self.at += batch
            return {input_name: pixels[self.at - batch : self.at]}

        def rewind(self) -> None:
            self.at = 0

    return Pictures()


def quantize_export(float_path: Path, out: Path, size: int, metadata: dict[str, str]) -> None:
    """Write the int8 copy of the float export at `float_path` to `out` (atomically, like the export)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from pixseek.encoders.calibration import dead_leaves

    model = onnx.load(str(float_path))
    stem = next(n.name for n in model.graph.node if n.op_type == "Conv")
    keep_float = [stem] + [n.name for n in model.graph.node if n.op_type in FLOAT_HEAD]
    input_name = model.graph.input[0].name
    pictures = dead_leaves(CALIBRATION_PICTURES, size)
    reader = _pictures(pictures, input_name)
    meta = {**metadata, "pixseek.quantization": f"qdq int8 per-channel weights, uint8 activations, percentile "
            f"{PERCENTILE} on {CALIBRATION_PICTURES} generated pictures, stem on the raw pixels, head in float "
            f"(v{QUANT_VERSION})"}
    print(f"pixseek: making the int8 model {out.name} (once, under a minute)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="pixseek-int8-") as work, onnx_output(out, meta) as tmp, \
            contextlib.redirect_stdout(io.StringIO()):  # the calibrator prints its progress; stdout is for results
        prepared = str(Path(work) / "prepared.onnx")
        quant_pre_process(str(float_path), prepared, skip_symbolic_shape=False)
        quantized = str(Path(work) / "quantized.onnx")
        quantize_static(prepared, quantized, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=keep_float,
                        extra_options={"CalibPercentile": PERCENTILE},
                        calibration_providers=["CPUExecutionProvider"])
        model = onnx.load(quantized)
        quantize_stem(model, pictures)
        onnx.save(model, tmp)
