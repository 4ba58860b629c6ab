"""Training a collection: the Python API's train and evaluate, which the CLI's `pixseek train` and `pixseek
eval` call through Collection. The recipes are learn/train.py and learn/evaluate.py; `Training` is the part
of Collection that hands them its folder, encoder and settings (kept here so the facade stays small)."""

from __future__ import annotations

from pathlib import Path

from pixseek.errors import PixseekError


class Training:
    """Collection's training methods (see the module docstring)."""

    def train(self, dataset: str | Path | None = None, captions: str | Path | None = None, *,
              images: str | Path | None = None, split: str | Path | None = None, method: str = "mlp",
              loss: str = "cosine", epochs: int | None = None, name: str = "devise", classes: list[str] | None = None,
              seed: int = 0, progress: bool | None = None, log=None) -> dict:
        """Learn what this collection's word searches use from then on: a DeViSE mapping from a labelled
        `dataset` folder (ImageFolder or Tiny ImageNet layout), or a joint space from `captions` (a TSV of photo
        and caption; `split`: photo and train|dev, `images`: the folder the paths start from). Returns the
        training report."""
        from pixseek.learn import train

        if captions:
            report = train.train_joint_space(self.folder, self.encoder, self.encoder_spec, str(captions),
                                             _text(images), _text(split), epochs, seed, progress, log)
            self.derive()  # the collection's joint vectors, from the new space
            return report
        if not dataset:
            raise PixseekError("give a labelled DATASET folder (DeViSE mapping) or --captions FILE (joint space)")
        report = train.train_mapping(self.folder, self.encoder, self.encoder_spec, self.words_spec, str(dataset), method,
                                     loss, epochs, name, classes, seed, progress, log)
        self.derive()  # the collection's mapped vectors, from the new mapping
        return report

    def evaluate(self, dataset: str | Path | None = None, captions: str | Path | None = None, *,
                 images: str | Path | None = None, bridge: str = "auto", split: str = "val",
                 classes: list[str] | None = None, progress: bool | None = None) -> dict:
        """Retrieval figures of a bridge, through the same searcher a search uses: on a labelled `dataset`'s
        split (keyword P@10, tags, image->image P@10) or on `captions` (caption -> photo recall@1/5/10)."""
        from pixseek.learn.evaluate import evaluate_captions, evaluate_dataset

        common = (self.folder, self.encoder, self.encoder_spec, self.words_spec, self.class_ids())
        if captions:
            return evaluate_captions(*common, str(captions), _text(images), bridge, progress)
        if not dataset:
            raise PixseekError("give a labelled DATASET folder or --captions FILE")
        return evaluate_dataset(*common, str(dataset), bridge, split, classes, progress)


def _text(value: str | Path | None) -> str | None:
    return None if value is None else str(value)
