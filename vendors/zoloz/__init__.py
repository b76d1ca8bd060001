"""ZOLOZ facecompare backend (VENDOR-PROTOCOLS.md §3)."""

from vendors.zoloz.adapter import ZolozAdapter

__all__ = ["ZolozAdapter"]
