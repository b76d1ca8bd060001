"""ADVANCE.AI face-recognition v4 check (VENDOR-PROTOCOLS.md §2)."""

from vendors.advance.adapter import AdvanceAdapter

__all__ = ["AdvanceAdapter"]
