"""``gifqa ask``: answer a question about a GIF or short video."""

from __future__ import annotations

import json
import sys

from gifqa.cli.model_args import add_model_arguments, load_answerer, model_errors, open_source

NAME = "ask"
HELP = "answer a question about a GIF or short video"
EPILOG = """examples:
  gifqa ask examples/shapes_bounce.gif "what color is the circle?" --model checkpoints/gifqa-shapes
  gifqa ask clip.gif "what does the cat do?" --json --keyframes-out keyframes.png
  gifqa ask clip.gif "what does the cat do?" --sampling clipcut --clip-model openai/clip-vit-base-patch32
  gifqa ask clip.gif "what does the man do 3 times?" --options "wave" "jump" "nod" "clap" "spin"
  gifqa ask clip.gif "how many times does the dog jump?"          (counting questions answer with an integer)
  curl -s https://example.org/a.gif | gifqa ask - "what is shown?"
  gifqa ask https://example.org/a.gif "what is shown?"
  gifqa ask --batch questions.jsonl --out answers.jsonl           (one {"gif": ..., "question": ...} per line;
                                                                   rerun the same command to resume)
exit codes: 0 answered, 1 bad media / unknown model / missing files / out of memory, 2 usage error
"""


def add_arguments(parser) -> None:
    parser.add_argument("gif", nargs="?", metavar="GIF", help="path, - for stdin, or an http(s) URL")
    parser.add_argument("question", nargs="?", metavar="QUESTION")
    parser.add_argument("--options", nargs="+", metavar="OPTION", help="multiple choice: score these answers")
    parser.add_argument("--keyframes-out", metavar="PNG", help="save the chosen keyframes as a contact sheet")
    parser.add_argument("--max-new-tokens", type=int, default=16, help="answer length budget (tokens, default 16)")
    parser.add_argument("--batch", metavar="QUESTIONS.jsonl", help='answer {"gif", "question"[, "options", "id"]} lines')
    parser.add_argument("--out", metavar="ANSWERS.jsonl", help="batch output (appended; reruns resume); default stdout")
    add_model_arguments(parser)


def run(args) -> int:
    if args.batch:
        if args.gif or args.question:
            print("gifqa ask: error: give either GIF QUESTION or --batch, not both", file=sys.stderr)
            return 2
        return _run_batch(args)
    if not args.gif or not args.question:
        print("gifqa ask: error: GIF and QUESTION are required (or --batch FILE)", file=sys.stderr)
        return 2
    source, name = open_source(args.gif, args)
    with model_errors():
        answerer = load_answerer(args)
        result = answerer.ask(source, args.question, options=args.options, max_new_tokens=args.max_new_tokens,
                              name=name)
    if args.keyframes_out:
        from gifqa.ask import contact_sheet

        clip = answerer.clip(source, name, args.question)  # the cached keyframes of this answer
        contact_sheet(clip.frames, clip.keyframes, clip.timestamps_ms, args.keyframes_out)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.answer)
    return 0


def _run_batch(args) -> int:
    """Answer every line; each answer is written (and flushed) as soon as it exists."""
    from pathlib import Path

    from gifqa.errors import DataError, GifqaError, MediaError

    rows = []
    with open(args.batch, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["gif"], row["question"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(args.batch, f'each line needs {{"gif": ..., "question": ...}} ({exc})', line_no) from None
            rows.append((line_no, row))
    done: set[int] = set()
    out_path = Path(args.out) if args.out else None
    if out_path and out_path.exists():
        for line in out_path.read_text(encoding="utf-8").splitlines():
            try:
                done.add(int(json.loads(line)["line"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a line cut by an interruption: answered again
        _truncate_partial_line(out_path)
    todo = [(n, r) for n, r in rows if n not in done]
    if done:
        print(f"gifqa: resuming: {len(done)} answered, {len(todo)} to go", file=sys.stderr)
    with model_errors():
        answerer = load_answerer(args) if todo else None
    failed = 0
    sink = open(out_path, "a", encoding="utf-8") if out_path else sys.stdout
    try:
        base = Path(args.batch).resolve().parent
        for line_no, row in todo:
            record = {"line": line_no, **({"id": row["id"]} if "id" in row else {}), "gif": row["gif"],
                      "question": row["question"]}
            try:
                gif = row["gif"]
                if not gif.startswith(("http://", "https://")) and not Path(gif).is_absolute():
                    gif = str(base / gif)  # relative to the questions file
                source, name = open_source(gif, args)
                with model_errors():
                    result = answerer.ask(source, row["question"], options=row.get("options"),
                                          max_new_tokens=args.max_new_tokens, name=name)
                record.update(result.to_dict())
            except MediaError as exc:
                record["error"] = " ".join(str(exc).split())
                failed += 1
                print(f"gifqa: error: {record['error']}", file=sys.stderr)
            sink.write(json.dumps(record) + "\n")
            sink.flush()
    finally:
        if out_path:
            sink.close()
    if failed:
        raise GifqaError(f"{failed} of {len(todo)} questions could not be answered (see the error rows)")
    return 0


def _truncate_partial_line(path) -> None:
    """Drop a last line without its newline (the process was killed while writing it)."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])
