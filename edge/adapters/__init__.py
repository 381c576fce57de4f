"""Model adapters: small classes behind small protocols, one per capability."""
