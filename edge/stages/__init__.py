"""Pure, synchronous state machines: segmentation, transcription scheduling, guards,
emotion windows, prosody, conversation and the cue machine.

Nothing in here touches asyncio, sockets, devices or models: stages are fed
values and return events, so they can be tested with scripted inputs.
"""
