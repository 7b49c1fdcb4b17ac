"""One module (or package) per paper key: its experiments, claims and figures. Every module here is imported by
:func:`sgdlab.registry.load_all`, so adding a paper needs no registration anywhere else."""
