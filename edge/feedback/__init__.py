"""Agents' verdicts on cues: kept on disk (:mod:`.store`), read by ``edge calibrate``."""
