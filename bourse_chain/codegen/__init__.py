"""Generator of the typed bindings in ``bourse_chain.generated`` from ``idl/*.json``.

Run ``python -m bourse_chain.codegen`` after ``python -m idl.render`` (``--check`` only verifies
that the committed output is current; ``--idl-dir``/``--out`` point elsewhere).  The output is
deterministic, already in ruff's format, ruff- and ``mypy --strict``-clean, and every file
starts with a "DO NOT EDIT" header; only files carrying it are ever rewritten or deleted.
:mod:`bourse_chain.codegen.runtime` is the small runtime the generated code imports.

Per program, ``bourse_chain/generated/<program>/`` gets ``program_id.py``, ``constants.py``
(PDA seed prefixes, fixed addresses), ``types/`` (``IntEnum`` or frozen dataclass with borsh
``encode``/``decode``), ``accounts/`` (dataclass, ``DISCRIMINATOR``, ``LEN``, ``OFFSETS``,
``decode``/``encode``/``from_account``; one precompiled ``struct.Struct`` per fixed layout),
``instructions/`` (``<Name>Args``, ``<Name>Accounts`` holding only what the caller must pass,
and a pure builder deriving every fixed address and PDA), ``events/`` (dataclasses,
``decode_event``, ``events_from_logs``) and ``errors.py`` (one ``ProgramError`` subclass per
code, ``from_code``).

What an IDL may use that the generator refuses (:class:`~bourse_chain.codegen.idl.UnsupportedIdl`,
naming the item): enum variants carrying data, generics, tuple (unnamed) fields, type aliases,
``serialization`` other than borsh (bytemuck zero-copy with padding), ``coption``,
``u256``/``i256``, composite (nested) instruction account groups, account or event layouts
nested inside other types, recursive types, empty or ambiguous discriminators.

What it accepts but leaves to the caller (reported as notes when generating): PDA seeds that
read an account's data (``"path": "model.mint"``), PDAs whose seeds depend on each other, and
arg seeds of a type with no canonical seed bytes (option, enum, struct, vec of non-u8).  The
IDL ``constants`` section and account ``relations`` are not bound.  A const seed equal to the
program's own address (e.g. its ProgramData PDA) is derived from the builder's ``program_id``,
so builders also work for a deployment at another address.  Fixed layouts decode ``bool``
leniently (any non-zero byte is ``True``, as the program's zero-copy reads do); variable-size
layouts decode it strictly.
"""
