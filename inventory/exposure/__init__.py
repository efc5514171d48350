"""Internet exposure, reachability between resources, and the network map. Pure Python, no Django.

Inputs are the stored items of ONE account: anything with type, arn, resource_id, name, region,
tags and data (``iam_audit.checks.base.Item`` and ``inventory.records.Record`` both fit
:class:`inventory.exposure.topology.ItemLike`), ``data`` shaped as in inventory/resource_types.py.

- ``analysis``: :func:`~inventory.exposure.analysis.analyse_account` (-> ``ExposureReport``),
  :func:`~inventory.exposure.analysis.internal_edges` (-> ``list[Edge]``) and
  :func:`~inventory.exposure.analysis.build_model` (do the work once, reuse it for the map).
- ``mapgraph``: :func:`~inventory.exposure.mapgraph.build_map` (-> ``MapPayload``) and
  :func:`~inventory.exposure.mapgraph.estate_treemap`.
- ``results`` (the returned records), ``endpoints`` (what receives traffic), ``topology`` (the
  network index), ``reach`` (ACL / security-group evaluation), ``ports`` (protocol/port sets).
"""
