"""The search index port, its schema declaration and its adapters."""
