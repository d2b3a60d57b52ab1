"""Caption tokenisation for the tiny world.

Every word of the caption grammar is a single token of the real CLIP BPE table, so whole-word lookup gives the
same ids as the host's BPE tokenizer (the C# test suite checks this). The text encoder maps CLIP ids onto a small
embedding table inside its graph; ids it never saw map to index 0.
"""
import json
import os

import numpy as np

from scenes import COLOUR_NAMES, SHAPES

BOS, EOS = 49406, 49407
SHARED = os.environ.get("CONTROLHOST_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
VOCAB_PATH = os.path.join(SHARED, "clip-tokenizer", "vocab.json")

WORDS_V1 = ["a", "an", "and", "on", "background", "striped", "small", "large"] + COLOUR_NAMES + SHAPES
# Scenes v2's words, appended so that the first grammar keeps its embedding rows (training continues from them).
WORDS_V2 = ["bar", "block", "oval", "shape", "blob", "ring", "stroke", "crescent", "arrow", "textured", "object"]
WORDS = WORDS_V1 + WORDS_V2
SYNONYMS = {"grey": "gray", "cyan": "teal", "man": "person", "woman": "person", "ball": "circle", "box": "square"}


def clip_vocab():
    with open(VOCAB_PATH, encoding="utf-8") as f:
        return json.load(f)


def build_tables(words=None):
    """Returns (word -> CLIP id, id_table [49408] CLIP id -> small index, small vocabulary size).
    words: the vocabulary (default WORDS; WORDS_V1 reads a text encoder exported before scenes v2)."""
    words = words or WORDS
    vocab = clip_vocab()
    word_ids = {w: vocab[w + "</w>"] for w in words}
    table = np.zeros(len(vocab), np.int64)
    table[BOS], table[EOS] = 1, 2
    for i, w in enumerate(words):
        table[word_ids[w]] = 3 + i
    for syn, w in SYNONYMS.items():
        key = syn + "</w>"
        if key in vocab:
            table[vocab[key]] = table[word_ids[w]]
    return word_ids, table, 3 + len(words)


def tokenize(caption, word_ids):
    ids = [BOS] + [word_ids[w] for w in caption.lower().split()][:75] + [EOS]
    return np.array(ids + [EOS] * (77 - len(ids)), np.int32)
