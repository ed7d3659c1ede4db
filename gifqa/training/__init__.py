"""Multi-task training under HF Accelerate: config (config.py), data mixture (data.py), the loop (loop.py)."""

from gifqa.training.config import TrainConfig, load_recipe


def train(cfg: TrainConfig):
    from gifqa.training.loop import train as _train

    return _train(cfg)


__all__ = ["TrainConfig", "load_recipe", "train"]
