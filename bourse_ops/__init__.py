"""Creator and operator scripts: the functions the ``bourse`` command line calls.

Each module is importable (async functions taking a :class:`~bourse_ops.common.Session`) and
runnable on its own as ``python -m scripts.<name> ...``, which is the matching ``bourse``
command group (``python -m bourse_ops.list_model register ...`` = ``bourse model register ...``).
"""
