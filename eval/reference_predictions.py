"""Write a predictions file built from the official answers (a perfect predictor) or one constant
answer, for checking scores by hand with ``gifqa score``.

    python eval/reference_predictions.py --task count --annotations ../shared/data/tgif-qa --out perfect.jsonl
    gifqa score --task count --predictions perfect.jsonl --annotations ../shared/data/tgif-qa
    # -> mse 0.2583 = 918/3554: the clamp-to-[1, 10] floor (answer 0 can never be matched)

    python eval/reference_predictions.py --task action --annotations DIR --constant 0 --out zeros.jsonl
    # -> accuracy = share of test questions whose answer is option 0
"""

from __future__ import annotations

import argparse
import json


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=["action", "transition", "frameqa", "count"])
    p.add_argument("--annotations", required=True, help="folder with Test_<task>_question.csv")
    p.add_argument("--out", required=True, help="predictions JSON Lines file to write")
    p.add_argument("--constant", help="answer every question with this value instead of the official answer")
    args = p.parse_args(argv)

    from gifqa.data.tgifqa import load_tgifqa

    records = load_tgifqa(args.task, "test", args.annotations)
    with open(args.out, "w") as fh:
        for r in records:
            if args.constant is not None:
                value = args.constant if args.task == "frameqa" else float(args.constant)
                value = int(value) if args.task in ("action", "transition") else value
            else:
                value = r.answer_index if args.task in ("action", "transition") else r.answer
            fh.write(json.dumps({"vid_id": r.vid_id, "prediction": value}) + "\n")
    print(f"wrote {len(records)} predictions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
