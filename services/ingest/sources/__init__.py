"""Adapters from open-data extracts and stewards' files to `shared.models.Listing` dicts.

`mapping` declares how CSV columns become listing fields (the project's own CSV, or a steward's
JSON mapping file); one module per source maps a raw row (or raises `Skipped` with the reason),
using declarations where it can; `formats` reads each file format the CLI loads into records
that remember their line; `merge` folds records of one organisation; `build_sample` writes the
repository's sample directory from `data/sources/`.
"""
