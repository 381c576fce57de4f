"""The fleet: several ``edge serve`` nodes sharing their calls on Redis Streams (issue 16)."""
