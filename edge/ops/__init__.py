"""Operating empathy-edge: machine checks (``edge doctor``) and metrics endpoints."""
