"""The ``mamori`` command: one sub-command group per part of the product."""
