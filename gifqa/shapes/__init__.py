"""gifqa-shapes: a procedural GIF world with TGIF-QA-style questions about time and motion.

No pretrained vision-language weights and no TGIF pixels are available offline, so this
world lets the whole stack be trained and measured where the answers are known exactly.
In the spirit of CLEVRER (Yi et al., ICLR 2020) and Moving MNIST (Srivastava et al., 2015):
coloured shapes bounce, spin, grow, blink, nod and shake a known number of times.

    from gifqa.shapes import generate_dataset
    generate_dataset("data/shapes", n_train=2000, n_val=200, n_test=200, n_compositional=200, seed=0)
"""

from gifqa.shapes.world import ACTIONS, COLOURS, SHAPES, Actor, Scene, sample_scene

__all__ = ["ACTIONS", "COLOURS", "SHAPES", "Actor", "Scene", "sample_scene", "generate_dataset"]


def generate_dataset(*args, **kwargs):
    from gifqa.shapes.dataset import generate_dataset as _generate

    return _generate(*args, **kwargs)
