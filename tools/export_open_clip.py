"""Export an open_clip model to the folder layout `pixseek index --encoder clip:DIR` reads (Immich's).

Run it where open_clip, its weights and the model's Hugging Face tokenizer are available (pixseek never
runs it, and CI does not either):

    pip install open_clip_torch transformers
    python tools/export_open_clip.py --model ViT-B-32 --pretrained laion2b_s34b_b79k \
        --tokenizer openai/clip-vit-base-patch32 --out ~/models/ViT-B-32__laion2b_s34b_b79k

An Immich model cache folder (e.g. .../clip/ViT-B-32__openai) already has this layout and needs no export.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="open_clip model name, e.g. ViT-B-32")
    p.add_argument("--pretrained", required=True, help="open_clip pretrained tag, e.g. openai")
    p.add_argument("--tokenizer", required=True,
                   help="a Hugging Face repo with tokenizer.json, e.g. openai/clip-vit-base-patch32")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()

    import open_clip
    import torch
    from transformers import AutoTokenizer

    model, _, _ = open_clip.create_model_and_transforms(args.model, pretrained=args.pretrained)
    model.eval()
    config = open_clip.get_model_config(args.model)
    out = args.out.expanduser()
    (out / "visual").mkdir(parents=True, exist_ok=True)
    (out / "textual").mkdir(exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2))

    cfg = model.visual.preprocess_cfg
    size = cfg["size"] if isinstance(cfg["size"], int) else cfg["size"][0]
    preprocess = {"size": [size, size], "mean": list(cfg["mean"]), "std": list(cfg["std"]),
                  "interpolation": cfg.get("interpolation", "bicubic"), "resize_mode": cfg.get("resize_mode", "shortest")}
    (out / "visual" / "preprocess_cfg.json").write_text(json.dumps(preprocess, indent=2))

    class Visual(torch.nn.Module):
        def forward(self, image):
            return model.encode_image(image)

    class Textual(torch.nn.Module):
        def forward(self, text):
            return model.encode_text(text.long())

    context = int(config["text_cfg"].get("context_length", 77))
    with torch.no_grad():
        torch.onnx.export(Visual(), torch.zeros(1, 3, size, size), str(out / "visual" / "model.onnx"),
                          input_names=["image"], output_names=["embedding"], opset_version=17,
                          dynamic_axes={"image": {0: "n"}, "embedding": {0: "n"}})
        torch.onnx.export(Textual(), torch.zeros(1, context, dtype=torch.int32), str(out / "textual" / "model.onnx"),
                          input_names=["text"], output_names=["embedding"], opset_version=17,
                          dynamic_axes={"text": {0: "n"}, "embedding": {0: "n"}})

    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    tok.backend_tokenizer.save(str(out / "textual" / "tokenizer.json"))
    pad = tok.pad_token or "<|endoftext|>"
    (out / "textual" / "tokenizer_config.json").write_text(json.dumps({"pad_token": pad}))
    print(f"wrote {out}: pixseek index PHOTOS --encoder clip:{out}")


if __name__ == "__main__":
    main()
