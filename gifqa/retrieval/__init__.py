"""CLIP-Cut keyframe retrieval for one clip, and text search over GIF collections.

    from gifqa.retrieval import select_keyframes, CLIPEncoder
    enc = CLIPEncoder.from_pretrained("openai/clip-vit-base-patch32")
    idx = select_keyframes(video, "what is the cat doing?", k=8, strategy="clipcut", encoder=enc)

Heavy modules (torch, transformers, faiss) are imported only when used.
"""
