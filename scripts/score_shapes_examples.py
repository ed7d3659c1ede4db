"""Ask a model every question of examples/shapes_examples.json through `gifqa ask` and count the right answers.

    python scripts/score_shapes_examples.py --model checkpoints/gifqa-shapes

One line per question (right/wrong, the answer given, the world's answer) on stdout, then the total;
questions that list options are asked with them (`--option`), as Action/Transition are evaluated.
The answers are what the world drew (scripts/make_shapes_examples.py), not model outputs.
"""

import argparse
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing


def score(model: str, examples: Path) -> list[dict]:
    from gifqa.cli.main import main as gifqa

    rows = []
    for ex in json.loads(examples.read_text()):
        for qa in ex["questions"]:
            argv = ["ask", str(REPO / ex["gif"]), qa["question"], "--model", model, "--json"]
            for option in qa.get("options") or []:
                argv += ["--option", option]
            out = io.StringIO()
            with redirect_stdout(out):
                rc = gifqa(argv)
            if rc != 0:
                raise SystemExit(rc)
            answer = json.loads(out.getvalue())["answer"]
            rows.append({"gif": ex["gif"], "question": qa["question"], "answer": answer, "truth": qa["answer"],
                         "right": str(answer).strip().lower() == str(qa["answer"]).strip().lower()})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="checkpoints/gifqa-shapes", help="checkpoint dir (default: the shipped one)")
    p.add_argument("--examples", type=Path, default=REPO / "examples" / "shapes_examples.json")
    args = p.parse_args(argv)
    rows = score(args.model, args.examples)
    for r in rows:
        print(f"{'right' if r['right'] else 'wrong'}\t{Path(r['gif']).name}\t{r['question']}\t{r['answer']}\t(world: {r['truth']})")
    print(f"{sum(r['right'] for r in rows)} of {len(rows)} right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
