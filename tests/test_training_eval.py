"""Periodic evaluation during training: eval/step_k/results.json and the best checkpoint."""

import json

from tests.training_helpers import metrics, train


def test_periodic_evaluation_writes_results_and_the_best_checkpoint(tmp_path):
    run = tmp_path / "run"
    # eval.annotations unset: the shapes source's generated val split is the validation split
    train(run, "--eval.every", "2", "--eval.tasks", "[tgif-qa/action, tgif-qa/count]", "--eval.limit", "4")
    evals = [r for r in metrics(run) if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4]  # every 2 steps; the last step is evaluated once
    for r in evals:
        results = json.loads((run / "eval" / f"step_{r['step']}" / "results.json").read_text())
        assert set(results["tasks"]) == {"tgif-qa/action", "tgif-qa/count"}
        assert results["tasks"]["tgif-qa/action"]["metrics"]["n"] == 4
        acc, mse = results["tasks"]["tgif-qa/action"]["metrics"]["accuracy"], results["tasks"]["tgif-qa/count"]["metrics"]["mse"]
        assert r["eval_score"] == (acc - mse) / 2  # the mean over tasks, mse negated
    # the best checkpoint is the first step with the highest score, and loads for inference
    best = json.loads((run / "checkpoints" / "best.json").read_text())
    top = max(r["eval_score"] for r in evals)
    assert best == {"step": next(r["step"] for r in evals if r["eval_score"] == top), "eval_score": top}
    from gifqa.inference import resolve_model

    model = resolve_model(str(run / "checkpoints" / "best"))
    assert model.config.name == "tiny" and (run / "checkpoints" / "last" / "config.json").exists()
