"""Training the DeViSE mapping (pixseek/search/mapping.py): ridge or MLP to the class word vectors, plus a class head.

A closed-form ridge regression, or an MLP (Dense -> BN -> ReLU -> Dropout -> Dense) with a cosine loss or
DeViSE's hinge-rank loss, early-stopped on a validation split; beside it a softmax class head over the
trained classes, whose probabilities the conse bridge adds to the classifier's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.mapping import Mapping, class_word_vectors

LOSSES = ("cosine", "hinge")
METHODS = ("mlp", "ridge")

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
