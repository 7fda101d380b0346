"""The ``bourse`` command line (``bourse_cli.app:main``)."""
