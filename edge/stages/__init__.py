"""Pure, synchronous state machines: VAD segmentation, transcript stabilisation, guards.

Nothing in here touches asyncio, sockets, devices or models: stages are fed
values and return events, so they can be tested with scripted inputs.
"""
