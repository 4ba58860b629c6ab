"""Training the joint image–text space (pixseek/search/joint_space.py) on captioned photos and class prompts.

Both encoders stay frozen: photos enter as the visual vectors a collection stores, texts as MiniLM
sentence vectors. An image head (standardise, MLP) and a text head (linear, with a residual so it starts
close to MiniLM's own geometry) are trained together with two losses in every step:
  captions  symmetric InfoNCE over a batch of (photo, one of its captions) pairs, as CLIP trains;
  classes   cross-entropy of each photo against every class prompt of its dataset (Tiny ImageNet object
            names, MiniPlaces scene names, in several templates), so objects and scenes land in the same
            space as sentences. A batch of captions has no false negatives to speak of; a batch of class
            photos would have many, which is why classes get a classifier-style loss instead.
The epoch with the best dev score (mean of caption R@10 and class P@10 on dev splits) is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.joint_space import JointSpace

TEMPLATES = ("{}", "a photo of a {}.", "a picture of the {}.", "a {} in the photo.", "a close-up photo of a {}.",
             "a photo of the {} outside.", "there is a {} here.")
SCENE_TEMPLATES = ("{}", "a photo of a {}.", "a view of the {}.", "inside a {}.", "a picture taken at the {}.",
                   "people at the {}.", "an empty {}.")


@dataclass
class CaptionData:
    x: np.ndarray  # (n_images, in_dim) visual vectors
    texts: np.ndarray  # (n_captions, text_dim) unit sentence vectors
    owner: np.ndarray  # (n_captions,) row in x of each caption's photo


@dataclass
class ClassData:
    name: str
    x: np.ndarray  # (n, in_dim) visual vectors
    labels: np.ndarray  # (n,) class index
    prompts: np.ndarray  # (n_classes, n_templates, text_dim): prompt 0 is the bare class name
    weight: float = 1.0  # of this set's loss beside the captions'


def embedding_recall(img: np.ndarray, txt: np.ndarray, owner: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """Text -> image recall@k on embeddings (training's dev figure): each caption vector ranks every photo
    vector; a hit when its own photo is in the top k. learn/evaluate.py caption_recall measures the same
    through a Searcher."""
    scores = txt @ img.T
    own = scores[np.arange(len(owner)), owner]
    rank = (scores > own[:, None]).sum(axis=1)
    return {f"r{k}": float((rank < k).mean()) for k in ks}


def class_precision(img: np.ndarray, names: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Each class name ranks every photo: mean precision of the top k."""
    top = np.argsort(-(names @ img.T), axis=1)[:, :k]
    return float((labels[top] == np.arange(len(names))[:, None]).mean())


def train_joint(train_caps: CaptionData, dev_caps: CaptionData, train_classes: list[ClassData],
                dev_classes: list[ClassData], encoder: str, text_encoder: str, dim: int = 512, hidden: int = 1024,
                epochs: int = 30, lr: float = 1e-3, weight_decay: float = 0.05, dropout: float = 0.5,
                batch_size: int = 256, class_weight: float = 1.0, patience: int = 6, seed: int = 0, threads: int = 2,
                keep_last: bool = False, log: Callable[[str], None] | None = None) -> JointSpace:
    """keep_last: run all `epochs` and keep the last (a final fit on train + dev, the epoch count chosen on dev
    before); otherwise keep the best dev epoch and stop `patience` epochs after it."""
    try:
        import torch
        from torch import nn
    except ImportError as exc:
        raise PixseekError("training needs torch (pip install torch==2.13.0, the CPU build)") from exc
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if len(train_caps.owner) == 0:
        raise PixseekError("no captions to train on")
    all_x = np.concatenate([train_caps.x] + [c.x for c in train_classes]).astype(np.float32)
    mean, std = all_x.mean(axis=0), all_x.std(axis=0) + 1e-4
    text_dim = train_caps.texts.shape[1]

    class TextHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(text_dim, dim)
            self.skip = nn.Linear(text_dim, dim, bias=False)  # a fixed random projection keeps MiniLM's geometry
            nn.init.orthogonal_(self.skip.weight)
            self.skip.weight.requires_grad_(False)
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)

        def forward(self, t):
            return self.skip(t) * (dim / text_dim) ** -0.5 + self.linear(t)

    image_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(all_x.shape[1], hidden), nn.ReLU(), nn.Dropout(dropout),
                               nn.Linear(hidden, dim))
    text_head = TextHead()
    log_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.05))))
    params = [p for p in [*image_head.parameters(), *text_head.parameters(), log_scale] if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = max(1, len(train_caps.x) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * steps_per_epoch, pct_start=0.1)

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, np.float32))

    def std_x(a):
        return t((a - mean) / std)

    cap_x, cap_t = std_x(train_caps.x), t(train_caps.texts)
    by_image = [np.flatnonzero(train_caps.owner == i) for i in range(len(train_caps.x))]
    cls = [(std_x(c.x), torch.from_numpy(c.labels.astype(np.int64)), t(c.prompts), c.weight) for c in train_classes]
    norm = nn.functional.normalize

    def dev_score() -> dict:
        image_head.eval()
        text_head.eval()
        with torch.no_grad():
            out = embedding_recall(norm(image_head(std_x(dev_caps.x)), dim=1).numpy(),
                                 norm(text_head(t(dev_caps.texts)), dim=1).numpy(), dev_caps.owner)
            for c in dev_classes:
                out[f"{c.name}_p10"] = class_precision(norm(image_head(std_x(c.x)), dim=1).numpy(),
                                                       norm(text_head(t(c.prompts[:, 0])), dim=1).numpy(), c.labels)
        out["score"] = float(np.mean([out["r10"]] + [out[f"{c.name}_p10"] for c in dev_classes]))
        return {k: round(v, 4) for k, v in out.items()}

    best, history, start = (-1.0, None, -1), [], time.time()
    for epoch in range(epochs):
        image_head.train()
        text_head.train()
        order = rng.permutation(len(train_caps.x))
        for step in range(steps_per_epoch):
            rows = order[step * batch_size:(step + 1) * batch_size]
            pick = np.array([rng.choice(by_image[r]) for r in rows])
            scale = log_scale.exp().clamp(max=100)
            img = norm(image_head(cap_x[rows]), dim=1)
            txt = norm(text_head(cap_t[pick]), dim=1)
            logits = scale * img @ txt.T
            target = torch.arange(len(rows))
            loss = (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2
            for x, labels, prompts, set_weight in cls:
                take = torch.from_numpy(rng.integers(0, len(x), batch_size))
                template = torch.from_numpy(rng.integers(0, prompts.shape[1], prompts.shape[0]))
                names = norm(text_head(prompts[torch.arange(prompts.shape[0]), template]), dim=1)
                z = scale * norm(image_head(x[take]), dim=1) @ names.T
                loss = loss + class_weight * set_weight * nn.functional.cross_entropy(z, labels[take]) / len(cls)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
        score = dev_score()
        history.append({"epoch": epoch + 1, **score})
        if log:
            log(f"joint epoch {epoch + 1}: " + ", ".join(f"{k} {v}" for k, v in score.items()))
        if score["score"] > best[0] or keep_last:
            state = ({k: v.clone() for k, v in image_head.state_dict().items()},
                     {k: v.clone() for k, v in text_head.state_dict().items()})
            best = (score["score"], state, epoch)
        elif epoch - best[2] >= patience and not keep_last:
            break
    image_head.load_state_dict(best[1][0])
    text_head.load_state_dict(best[1][1])
    w1 = image_head[1].weight.detach().numpy().T.astype(np.float64)
    b1 = image_head[1].bias.detach().numpy().astype(np.float64)
    image_layers = [((w1 / std[:, None]).astype(np.float32), (b1 - (mean / std) @ w1).astype(np.float32)),
                    (image_head[4].weight.detach().numpy().T.copy(), image_head[4].bias.detach().numpy().copy())]
    w_text = (text_head.skip.weight.detach().numpy().T * (dim / text_dim) ** -0.5 + text_head.linear.weight.detach().numpy().T)
    text_layers = [(w_text.astype(np.float32), text_head.linear.bias.detach().numpy().copy())]
    report = {"best_epoch": best[2] + 1, "epochs_run": len(history), "dev": history[best[2]], "history": history,
              "seconds": round(time.time() - start, 1), "dim": dim, "hidden": hidden, "dropout": dropout, "lr": lr,
              "weight_decay": weight_decay, "class_weight": class_weight, "seed": seed,
              "train_images": int(len(train_caps.x)), "train_captions": int(len(train_caps.owner)),
              "class_sets": {c.name: int(len(c.x)) for c in train_classes}}
    return JointSpace(image_layers, text_layers, encoder, text_encoder, report=report)
