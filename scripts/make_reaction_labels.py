"""Write ``gifqa/presets/_reactiongif_labels.json`` from the ReactionGIF authors' label table.

Source: Shmueli, Ray & Ku, "Happy Dance, Slow Clap: Using Reaction GIFs to Predict Induced
Affect on Twitter", ACL 2021; github.com/bshmueli/ReactionGIF @ 2fb7be7e (file
``Reactions2GoEmotions.csv``: 43 reactions x 27 GoEmotions labels, 0/1).  The positive
sentiment set is the one the paper's code uses for the binary induced-sentiment task.
Only the label table is shipped (names and the 0/1 mapping), no tweets.

    python scripts/make_reaction_labels.py [path/to/Reactions2GoEmotions.csv]
"""

from __future__ import annotations

import csv
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "reactiongif" / "Reactions2GoEmotions.csv"
POSITIVE = [
    "hug", "kiss", "wink", "awww", "hearts", "win", "fist_bump", "high_five", "good_luck",
    "you_got_this", "ok", "thumbs_up", "agree", "yes", "dance", "happy_dance", "applause",
    "slow_clap", "popcorn", "thank_you",
]


def main() -> None:
    src = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    emotions = [e.strip().lower() for e in rows[0][1:]]
    reactions = [r[0].strip() for r in rows[1:]]
    matrix = [[int(v) for v in r[1:]] for r in rows[1:]]
    assert len(reactions) == 43 and len(emotions) == 27, (len(reactions), len(emotions))
    assert set(POSITIVE) <= set(reactions), set(POSITIVE) - set(reactions)
    out = {
        "source": "github.com/bshmueli/ReactionGIF@2fb7be7e9208eec0d7e6bae3f54fca59c4aa4562 "
        "Reactions2GoEmotions.csv (Shmueli, Ray & Ku, ACL 2021)",
        "reactions": reactions,
        "positive_reactions": [r for r in reactions if r in POSITIVE],
        "goemotions": emotions,
        "reaction_to_goemotions": matrix,
    }
    dest = ROOT / "gifqa" / "presets" / "_reactiongif_labels.json"
    dest.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {dest}: {len(reactions)} reactions, {len(emotions)} emotions")


if __name__ == "__main__":
    main()
