"""CLIP-family models through `--encoder clip:DIR`, on tiny random towers of CLIP's shape that the test
builds and exports to ONNX (real CLIP weights cannot be downloaded here) in Immich's folder layout.

The rankings pixseek returns are checked against rankings computed here directly from the two ONNX
files and the tokenizer, with preprocessing written out independently from preprocess_cfg.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HAVE_DATA, PHOTOS, cli_json, copy_tiny, generated_images, run_cli
from PIL import Image, ImageOps

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

DIM, CONTEXT, SIZE = 24, 12, 40
MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
CORPUS = ["a photo of a dog on the beach", "a cat sleeping on a sofa", "two children playing in the snow",
          "a red car parked on the street", "goldfish in a bowl", "an orange on a table", "a bus in the city",
          "people walking at sunset", "a kitchen with a window", "a tabby cat and a wagon"]


def build_model(folder: Path, resize_mode: str = "shortest", seed: int = 0) -> Path:
    """A CLIP-shaped pair of towers with random weights, a BPE tokenizer and the config files."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    torch.manual_seed(seed)
    (folder / "visual").mkdir(parents=True)
    (folder / "textual").mkdir()
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS * 5, trainers.BpeTrainer(vocab_size=120, special_tokens=["<pad>", "<unk>", "<s>", "</s>"]))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 2), ("</s>", 3)])
    tok.save(str(folder / "textual" / "tokenizer.json"))
    vocab = tok.get_vocab_size()

    class Visual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 16, 5, stride=2)
            self.proj = torch.nn.Linear(16, DIM)

        def forward(self, image):
            x = torch.relu(self.conv(image)).mean(dim=(2, 3))
            return self.proj(x)

    class Textual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, 16)
            self.proj = torch.nn.Linear(16, DIM)

        def forward(self, text):
            return self.proj(torch.tanh(self.emb(text.long())).mean(dim=1))

    kw = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
    torch.onnx.export(Visual().eval(), torch.zeros(1, 3, SIZE, SIZE), str(folder / "visual" / "model.onnx"),
                      input_names=["image"], output_names=["embedding"],
                      dynamic_axes={"image": {0: "n"}, "embedding": {0: "n"}}, **kw)
    torch.onnx.export(Textual().eval(), torch.zeros(1, CONTEXT, dtype=torch.int32), str(folder / "textual" / "model.onnx"),
                      input_names=["text"], output_names=["embedding"],
                      dynamic_axes={"text": {0: "n"}, "embedding": {0: "n"}}, **kw)
    (folder / "config.json").write_text(json.dumps({"embed_dim": DIM, "text_cfg": {"context_length": CONTEXT}}))
    (folder / "visual" / "preprocess_cfg.json").write_text(json.dumps(
        {"size": [SIZE, SIZE], "mean": MEAN, "std": STD, "interpolation": "bicubic", "resize_mode": resize_mode}))
    (folder / "textual" / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>"}))
    return folder


# the reference: written from the layout's description, not from pixseek's code ----------------------

def ref_pixels(path: Path, resize_mode: str) -> np.ndarray:
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    w, h = im.size
    if resize_mode == "squash":
        im = im.resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    else:
        nw, nh = (SIZE, int(SIZE * h / w)) if w <= h else (int(SIZE * w / h), SIZE)
        im = im.resize((nw, nh), Image.Resampling.BICUBIC)
        left, top = int(round((nw - SIZE) / 2.0)), int(round((nh - SIZE) / 2.0))
        im = im.crop((left, top, left + SIZE, top + SIZE))
    x = (np.asarray(im, np.float32) / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return x.transpose(2, 0, 1)


def ref_image_vectors(model: Path, files: list[Path], resize_mode: str) -> np.ndarray:
    sess = ort.InferenceSession(str(model / "visual" / "model.onnx"), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"image": np.stack([ref_pixels(f, resize_mode) for f in files])})[0]
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def ref_tokens(model: Path, text: str) -> np.ndarray:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model / "textual" / "tokenizer.json"))
    ids = tok.encode(" ".join(text.split()).lower(), add_special_tokens=False).ids[: CONTEXT - 2]
    ids = [2, *ids, 3]
    return np.array(ids + [tok.token_to_id("<pad>")] * (CONTEXT - len(ids)), np.int32)


def ref_text_vector(model: Path, text: str) -> np.ndarray:
    sess = ort.InferenceSession(str(model / "textual" / "model.onnx"), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"text": ref_tokens(model, text)[None]})[0][0]
    return out / np.linalg.norm(out)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clip-photos")
    if HAVE_DATA:
        copy_tiny(folder, per_class=6)
        for name in ("skimage_astronaut.png", "skimage_coffee.png", "skimage_rocket.jpg", "skimage_chelsea.png"):
            shutil.copy2(PHOTOS / name, folder / name)  # full-size, not square: the resize modes matter
    else:
        generated_images(folder, 30)
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("resize_mode", ["shortest", "squash"])
def test_text_and_image_rankings_equal_the_towers_own(tmp_path, photos, resize_mode):
    model = build_model(tmp_path / "model", resize_mode)
    db = tmp_path / "db"
    root = photos[0].parents[1] if HAVE_DATA else photos[0].parent
    run_cli("index", str(root), "--encoder", f"clip:{model}", "--no-progress", db=db)
    images = ref_image_vectors(model, photos, resize_mode)
    for query in ("a dog on the beach", "two children playing in the snow"):
        got = cli_json("search", query, "-k", "10", db=db)["results"]
        scores = images @ ref_text_vector(model, query)
        want = np.argsort(-scores, kind="stable")[:10]
        assert [r["path"] for r in got] == [str(photos[i]) for i in want], query
        assert np.allclose([r["score"] for r in got], scores[want], atol=1e-3)
    query = photos[3]
    got = cli_json("similar", str(query), "-k", "5", db=db)
    sims = images @ images[3]
    want = [str(photos[i]) for i in np.argsort(-sims, kind="stable") if i != 3][:5]
    assert [r["path"] for r in got] == want
    status = cli_json("status", db=db)
    assert status["model"] == f"clip:{model}"


def test_tokens_are_truncated_and_padded_to_the_context_length(tmp_path):
    from pixseek.encoders.clip import ClipModel

    model = build_model(tmp_path / "model")
    clip = ClipModel(model)
    short, long = "a dog", " ".join(["goldfish"] * 40)
    ids = clip.tokens([short, long, "A  DOG"])
    assert ids.shape == (3, CONTEXT)
    assert (ids[0] == ref_tokens(model, short)).all() and (ids[1] == ref_tokens(model, long)).all()
    assert (ids[2] == ids[0]).all()  # cleaned: case and spacing do not matter
    assert ids[0][-1] == 0 and ids[1][-1] == 3  # padded with <pad>; the long one ends with </s>


def test_tags_come_from_the_text_tower(tmp_path, photos):
    model = build_model(tmp_path / "model")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("dog\ncat\nsnow\nkitchen\n")
    run_cli("index", str(photos[0].parent), "--encoder", f"clip:{model}", "--no-progress", db=tmp_path / "db")
    got = cli_json("tag", str(photos[0]), "--vocab", str(vocab), "-k", "4", db=tmp_path / "db")
    image = ref_image_vectors(model, [photos[0]], "shortest")[0]
    prompts = ("a photo of a {}.", "a photo of the {}.", "a picture of a {}.", "a close-up photo of a {}.")
    want = {}
    for w in ("dog", "cat", "snow", "kitchen"):
        v = np.mean([ref_text_vector(model, p.format(w)) for p in prompts], axis=0)
        want[w] = float(image @ (v / np.linalg.norm(v)))
    assert [t["tag"] for t in got] == sorted(want, key=lambda w: -want[w])
    assert np.allclose([t["score"] for t in got], sorted(want.values(), reverse=True), atol=1e-3)


@pytest.mark.parametrize("damage, message", [
    ("textual/tokenizer.json", "tokenizer.json is missing"),
    ("config.json", "config.json is missing"),
    ("embed", "embeddings"),
    ("input", "expects ['image']"),
])
def test_a_broken_model_folder_is_a_clear_error(tmp_path, photos, damage, message):
    model = build_model(tmp_path / "model")
    if damage == "embed":
        cfg = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(json.dumps({**cfg, "embed_dim": DIM + 1}))
    elif damage == "input":
        import onnx

        m = onnx.load(str(model / "visual" / "model.onnx"))
        m.graph.input[0].name = "pixels"
        for node in m.graph.node:
            node.input[:] = ["pixels" if i == "image" else i for i in node.input]
        onnx.save(m, str(model / "visual" / "model.onnx"))
    else:
        (model / damage).unlink()
    proc = run_cli("index", str(photos[0].parent), "--encoder", f"clip:{model}", "--no-progress",
                   db=tmp_path / "db", check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_clip_collection_refuses_bridges_it_has_no_parts_for(tmp_path, photos):
    model = build_model(tmp_path / "model")
    run_cli("index", str(photos[0].parent), "--encoder", f"clip:{model}", "--no-progress", db=tmp_path / "db")
    proc = run_cli("search", "dog", "--bridge", "conse", db=tmp_path / "db", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert cli_json("search", "dog", "--bridge", "clip", "-k", "3", db=tmp_path / "db")["results"]
