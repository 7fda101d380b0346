"""The programs' interfaces in Anchor's IDL spec, authored in Python.

`idl/<program>_spec.py` describes one program; `python -m idl.render` writes
`idl/<program>.json` (Anchor IDL spec 0.1.0, as Anchor >= 0.30 emits it) and
`program/<program>/src/generated.rs` (discriminators, error codes, account
sizes and field offsets) so the program and every client read one definition.
"""
