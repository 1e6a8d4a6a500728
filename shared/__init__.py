"""Cross-service contracts for socialmatch: models, ports and adapters, errors, logging."""
