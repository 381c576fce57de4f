"""Model adapters: small classes behind the small protocols of :mod:`edge.contracts`."""
