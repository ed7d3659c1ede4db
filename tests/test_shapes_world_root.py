"""A shapes source's ``world_root``: the world is generated once where scripts/train_clip.py finds it
too, and reused, instead of once per run directory."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[model]')")

GENERATE = {"n_train": 2, "n_val": 1, "n_test": 0, "n_compositional": 0, "seed": 5, "size_px": 32}


def test_world_root_holds_the_world_and_is_reused(tmp_path):
    from gifqa.training.config import SourceSpec
    from gifqa.training.contrastive import ContrastiveData
    from gifqa.training.data import prepare_shapes, shapes_world_dir

    world, run = tmp_path / "world", tmp_path / "run"
    spec = SourceSpec(kind="shapes", tasks=["count"], generate=GENERATE, world_root=str(world))
    out = prepare_shapes(spec, run)
    root = shapes_world_dir(world, GENERATE)
    assert out.annotations == str(root / "train") and out.gif_dir == str(root / "gifs")
    assert (root / "manifest.json").is_file() and not run.exists()  # nothing generated into the run dir
    # The CLIP step names the same folder for the same arguments (its world_root default is runs/shapes-world).
    assert shapes_world_dir(world, ContrastiveData(generate=GENERATE).generate) == root
    stamp = (root / "manifest.json").stat().st_mtime_ns
    prepare_shapes(spec, tmp_path / "other-run")
    assert (root / "manifest.json").stat().st_mtime_ns == stamp  # reused, not regenerated
    # Without world_root the run dir holds it, as before.
    alone = prepare_shapes(SourceSpec(kind="shapes", tasks=["count"], generate=GENERATE), run)
    assert alone.annotations == str(shapes_world_dir(run, GENERATE) / "train")


def test_world_root_is_for_shapes_sources_only():
    from gifqa.errors import ConfigError
    from gifqa.training.config import load_recipe

    from tests.training_helpers import RECIPE

    with pytest.raises(ConfigError, match="world_root is for kind: shapes only"):
        load_recipe(RECIPE, ["--data.sources", "[{kind: tgif-qa, annotations: a, gif_dir: g, world_root: w}]"])
