"""The creator and operator service layer: the functions the ``bourse`` command line calls.

Each module is importable (async functions taking a :class:`~bourse_ops.common.Session`);
it never imports the command line. ``scripts/<name>.py`` in the checkout runs the matching
``bourse`` command group (``python scripts/list_model.py register ...`` =
``bourse model register ...``).
"""
