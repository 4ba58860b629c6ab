"""Build the all-MiniLM-L6-v2 ONNX graph once from the packaged safetensors weights.

torch is imported only inside `export_onnx`; the rest of this module (safetensors parsing, constants) is
plain Python + numpy so that importing it at query time costs nothing. The exported graph takes
int64 `input_ids` and `attention_mask` (batch, sequence; both dynamic) and returns `embedding`
(batch, 384): BERT -> mean pooling over the mask -> L2 normalisation, i.e. sentence-transformers' output.
"""

from __future__ import annotations

import json
import math
import struct
import warnings
from pathlib import Path

import numpy as np

from pixseek.encoders.onnx_files import onnx_output
from pixseek.errors import PixseekError

EXPORT_VERSION = 1
_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file: 8-byte little-endian header size, JSON header, raw little-endian data."""
    data = Path(path).read_bytes()
    try:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + size])
    except (struct.error, ValueError) as exc:
        raise PixseekError(f"{path} is not a safetensors file: {exc}") from exc
    base, out = 8 + size, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise PixseekError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=_DTYPES[info["dtype"]], count=(end - start) // np.dtype(_DTYPES[info["dtype"]]).itemsize,
                            offset=base + start)
        out[name] = arr.reshape(info["shape"])
    return out


def _bert(torch, cfg: dict):
    """A BertModel with Hugging Face parameter names (so the safetensors keys load as they are), pooled and normalised."""
    nn, F = torch.nn, torch.nn.functional
    hidden, eps = cfg["hidden_size"], cfg["layer_norm_eps"]

    def group(**children):
        m = nn.Module()
        for key, child in children.items():
            m.add_module(key, child)
        return m

    def norm():
        return nn.LayerNorm(hidden, eps=eps)

    def layer():
        return group(
            attention=group(
                self=group(query=nn.Linear(hidden, hidden), key=nn.Linear(hidden, hidden), value=nn.Linear(hidden, hidden)),
                output=group(dense=nn.Linear(hidden, hidden), LayerNorm=norm()),
            ),
            intermediate=group(dense=nn.Linear(hidden, cfg["intermediate_size"])),
            output=group(dense=nn.Linear(cfg["intermediate_size"], hidden), LayerNorm=norm()),
        )

    class MiniLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = cfg["num_attention_heads"]
            self.embeddings = group(
                word_embeddings=nn.Embedding(cfg["vocab_size"], hidden),
                position_embeddings=nn.Embedding(cfg["max_position_embeddings"], hidden),
                token_type_embeddings=nn.Embedding(cfg["type_vocab_size"], hidden),
                LayerNorm=norm(),
            )
            self.encoder = group(layer=nn.ModuleList(layer() for _ in range(cfg["num_hidden_layers"])))

        def forward(self, input_ids, attention_mask):
            n, s = input_ids.shape
            e = self.embeddings
            # token_type_ids are all zero for single sentences: add row 0 instead of taking a third input
            x = e.word_embeddings(input_ids) + e.position_embeddings.weight[:s].unsqueeze(0) + e.token_type_embeddings.weight[0]
            x = e.LayerNorm(x)
            mask = attention_mask.to(x.dtype)
            bias = (1.0 - mask)[:, None, None, :] * torch.finfo(x.dtype).min
            d = hidden // self.heads

            def split(t):
                return t.view(n, s, self.heads, d).transpose(1, 2)

            for blk in self.encoder.layer:
                att = blk.attention
                q, k, v = split(att.self.query(x)), split(att.self.key(x)), split(att.self.value(x))
                probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
                ctx = (probs @ v).transpose(1, 2).reshape(n, s, hidden)
                x = att.output.LayerNorm(att.output.dense(ctx) + x)
                x = blk.output.LayerNorm(blk.output.dense(F.gelu(blk.intermediate.dense(x))) + x)
            pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
            return pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)

    return MiniLM()


def export_onnx(model_dir: Path, out: Path) -> None:
    """Load the weights into a small torch BERT and export it (opset 17), writing `out` atomically."""
    try:
        import onnx  # noqa: F401 (onnx_output needs it: fail here with the message below)
        import torch
    except ImportError as exc:
        raise PixseekError(f"building the phrase model needs torch and onnx once ({exc}): pip install torch onnx") from exc
    cfg = json.loads((model_dir / "config.json").read_text())
    act, pos = cfg.get("hidden_act", "gelu"), cfg.get("position_embedding_type", "absolute")
    if act != "gelu" or pos != "absolute":
        raise PixseekError(f"{model_dir}: unsupported BERT variant (hidden_act {act}, position_embedding_type {pos})")
    model = _bert(torch, cfg).eval()
    weights = read_safetensors(model_dir / "model.safetensors")
    wanted = model.state_dict().keys()
    missing = [k for k in wanted if k not in weights]
    if missing:
        raise PixseekError(f"{model_dir}/model.safetensors lacks {len(missing)} tensors, e.g. {missing[0]}")
    model.load_state_dict({k: torch.from_numpy(weights[k].astype(np.float32)) for k in wanted}, strict=True)

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    with onnx_output(out, {"pixseek.name": "all-minilm-l6-v2", "pixseek.export_version": str(EXPORT_VERSION)}) as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # dynamo=False is the legacy exporter, on purpose
            torch.onnx.export(
                model, (ids, mask), tmp, opset_version=17, dynamo=False,
                input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                dynamic_axes={"input_ids": {0: "n", 1: "seq"}, "attention_mask": {0: "n", 1: "seq"}, "embedding": {0: "n"}},
            )
