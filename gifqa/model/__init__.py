"""The gifqa model: CLIP vision tower -> BLIP-2 Q-Former per frame -> Linear -> LLM (LoRA).

Public API::

    from gifqa.model import GifQAModel, GifQAConfig, list_presets, load_preset
    model = GifQAModel.from_preset("tiny")              # random backbones, no download
    model = GifQAModel.from_preset(name, pretrained=True)  # fetch backbones by hub id
    model = GifQAModel.from_pretrained(dir_or_hub_id)   # a saved gifqa checkpoint

Imports are lazy so that ``import gifqa.model`` does not load torch.
"""

from __future__ import annotations

__all__ = ["GifQAConfig", "GifQAModel", "GifQAOutput", "list_presets", "load_preset"]


def __getattr__(name):
    if name in ("GifQAModel", "GifQAOutput"):
        from gifqa.model import modeling

        return getattr(modeling, name)
    if name == "GifQAConfig":
        from gifqa.model.config import GifQAConfig

        return GifQAConfig
    if name in ("list_presets", "load_preset"):
        from gifqa.model import presets

        return getattr(presets, name)
    raise AttributeError(name)
