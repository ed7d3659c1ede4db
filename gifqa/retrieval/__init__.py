"""CLIP-Cut keyframe retrieval for one clip, and text search over GIF collections.

    from gifqa.retrieval import select_keyframes, CLIPEncoder
    enc = CLIPEncoder.from_pretrained("openai/clip-vit-base-patch32")
    idx = select_keyframes(video, "what is the cat doing?", k=8, strategy="clipcut", encoder=enc)

Heavy modules (torch, transformers, faiss) are imported only when used.
"""

from gifqa.retrieval.cache import EmbeddingCache
from gifqa.retrieval.clipcut import KeyframeSelection, clipcut_select
from gifqa.retrieval.encoders import CLIPEncoder, FrameTextEncoder, TextTruncatedWarning
from gifqa.retrieval.index import CollectionIndex, SearchHit
from gifqa.retrieval.sampling import KEYFRAME_STRATEGIES, select_keyframes

__all__ = [
    "CLIPEncoder",
    "CollectionIndex",
    "EmbeddingCache",
    "FrameTextEncoder",
    "KEYFRAME_STRATEGIES",
    "KeyframeSelection",
    "SearchHit",
    "TextTruncatedWarning",
    "clipcut_select",
    "select_keyframes",
]
