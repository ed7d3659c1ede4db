"""Shared helpers for the data and qagen tests: run one gifqa command without the others.

``gifqa.cli.main.COMMAND_MODULES`` lists every command of the package; these tests build a
parser with only the command under test so they do not depend on the other modules' state.
"""

from __future__ import annotations

import gifqa.cli.main as cli_main


def run_cli(monkeypatch, module: str, argv: list[str]) -> int:
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", [module])
    return cli_main.main(argv)


def tiny_t5_dir(tmp_path):
    """Save a tiny random T5 and a sentencepiece tokenizer trained here to ``tmp_path/tiny-t5``.

    The vocabulary is trained in-process (no download); the folder is the save_pretrained
    layout, so loading it exercises the real ``from_pretrained`` path.
    """
    import sentencepiece as spm
    from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

    sentences = [
        "answer: man  context: a man is holding a red ball .",
        "answer: two  context: two dogs are running in a park .",
        "question: what is the man holding ?",
        "question: how many dogs are running ?",
        "a woman is dancing on a stage .",
    ] * 10
    prefix = tmp_path / "sp"
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=str(prefix), vocab_size=64, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, hard_vocab_limit=False, minloglevel=2,
    )  # fmt: skip
    sp = spm.SentencePieceProcessor(model_file=str(prefix) + ".model")
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    config = T5Config(
        vocab_size=len(tokenizer), d_model=16, d_kv=4, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    import torch

    torch.manual_seed(0)
    model = T5ForConditionalGeneration(config)
    out = tmp_path / "tiny-t5"
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    return out
