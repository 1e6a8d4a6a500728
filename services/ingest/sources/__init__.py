"""Adapters from open-data extracts to `shared.models.Listing` dicts.

One module per source turns a raw row into a listing dict (or raises `Skipped` with the reason);
`merge` folds records of the same organisation from several sources into one listing and
`build_sample` writes the repository's sample directory from `data/sources/`.
"""
