"""Training and evaluation helpers for the models (scripts only, with the ``train`` extra).

Only ``scripts/`` imports this package: nothing else under ``edge`` may, so the
service never loads torch, scikit-learn or the training data's layout.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
# The shared corpora (one folder per corpus); never needed at run time.
DATA = Path(os.environ.get("EDGE_DATA", ROOT.parent / "shared" / "data"))
