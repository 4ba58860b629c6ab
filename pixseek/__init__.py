"""pixseek: semantic image search. Find images by image, by region, by words; find words; tag images."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Collection", "Hit", "IndexReport", "Tag", "WordHit", "PixseekError"]


def __getattr__(name: str):
    # Lazy, so that `import pixseek.encoders...` in worker processes stays light.
    if name == "PixseekError":
        from pixseek.errors import PixseekError

        return PixseekError
    if name in __all__:
        from pixseek.interfaces import collection

        return getattr(collection, name)
    raise AttributeError(name)
