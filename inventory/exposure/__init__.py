"""Internet exposure, reachability between resources, and the network map. Pure Python, no Django.

Public API (inputs are stored items of ONE account: anything with type, arn, resource_id, name,
region, tags, data — ``iam_audit.checks.base.Item`` and ``inventory.collectors.base.Record`` both fit
:class:`~inventory.exposure.topology.ItemLike`):

- :func:`inventory.exposure.analysis.analyse_account` -> :class:`~inventory.exposure.analysis.ExposureReport`
- :func:`inventory.exposure.analysis.internal_edges` -> list of :class:`~inventory.exposure.analysis.Edge`
- :func:`inventory.exposure.analysis.build_model` -> :class:`~inventory.exposure.analysis.NetworkModel`
  (do the work once, then read ``.report``, ``.internal_edges()`` and pass it to ``build_map``)
- :func:`inventory.exposure.mapgraph.build_map` -> :class:`~inventory.exposure.mapgraph.MapPayload`
- :func:`inventory.exposure.mapgraph.estate_treemap` -> plotly figure dict
"""
