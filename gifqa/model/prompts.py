"""Every text template the model uses, in one place.

The question format follows BLIP-2's VQA prompt ("Question: {} Answer:", Li et al. 2023), which
the zero-shot BLIP-2 composite needs and which is as good as any for fine-tuned models.
"""

from __future__ import annotations

QUESTION_TEMPLATE = "Question: {question} Answer:"
CAPTION_PROMPT = "A short description of the GIF:"
# Answers are appended after one space; options of a multiple-choice question are scored the same way.
ANSWER_PREFIX = " "
# Candidate answers for counting: TGIF-QA Count answers are 0..10 (its metric clamps to [1, 10]).
COUNT_OPTIONS = [str(i) for i in range(11)]
# How a count is read off the LM's distribution over COUNT_OPTIONS (GifQAModel.predict_count).
COUNT_DECODES = ("mean", "mode")
NUMBER_WORDS = {
    "zero": 0, "none": 0, "no": 0, "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}


def question_prompt(question: str) -> str:
    return QUESTION_TEMPLATE.format(question=question.strip())


def answer_text(answer: str) -> str:
    return ANSWER_PREFIX + answer.strip()
