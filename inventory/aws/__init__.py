"""The AWS access layer: the single choke point for every call Skyledger makes. No Django here.

- ``session``: :class:`Hub` (Skyledger's own credentials), :class:`AccountSession` (an assumed read
  role, refreshing itself), one botocore Config, cached clients.
- ``stats``: :class:`CallStats`, calls / HTTP attempts / errors counted through botocore events.
- ``errors``: ``classify()`` any failure into an :class:`ErrorKind` with a sentence for people.
- ``regions``: ``enabled_regions()`` of an account, in its partition, within an allow-list.
- ``calls``: ``paginate()``, ``absent_ok()``, ``call()`` with the run's "not supported here" memo.
- ``access``: ``check_access()`` for the "can we read this account?" button and command.

Import from the submodules: this package imports nothing itself. It depends on the plain values
of :mod:`inventory.records` only, never on the collectors, which depend on it.
"""
