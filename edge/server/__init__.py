"""The live service: websocket ingest, subscribers, pages."""
