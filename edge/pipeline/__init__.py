"""Asyncio glue: moves frames and events between the pure stages and the model workers."""
