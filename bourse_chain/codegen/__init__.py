"""Generator of the typed bindings in ``bourse_chain.generated`` from ``idl/*.json``.

Run ``python -m bourse_chain.codegen`` (``--check`` to only verify the committed output is
current).  :mod:`bourse_chain.codegen.runtime` is the small runtime the generated code imports.
"""
