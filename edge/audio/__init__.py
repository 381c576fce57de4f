"""Audio in: decoding, G.711, resampling to 16 kHz, framing per channel role."""
