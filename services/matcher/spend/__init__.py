"""Buy Social spend: the ledger, progress against targets, gap-closing recommendations, the
reports and their files, and the HTTP API over them.

The arithmetic (`ledger`, `recommend`) is pure, with no web and no storage, so the figures that
organisations report on are tested exhaustively on their own; `service` joins it to the spend
store and the directory, `reports`/`report_files`/`chart` present it, and `api` serves it.
"""
