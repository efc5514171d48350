"""Inventory pages: resources, the report, the home-page part, runs and access (one module each)."""
