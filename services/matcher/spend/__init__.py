"""Buy Social spend: the ledger, progress against targets, and gap-closing recommendations.

Pure domain logic (no web, no storage), so the arithmetic that organisations report on is
tested exhaustively on its own.
"""
