"""FinAuth (Megvii overseas) v5 compare backend (VENDOR-PROTOCOLS.md §1)."""

from vendors.finauth.adapter import FinAuthAdapter

__all__ = ["FinAuthAdapter"]
