"""Alibaba Cloud ID Verification (cloudauth-intl 2022-08-09) FaceCompare, VENDOR-PROTOCOLS.md §4."""

from vendors.alibaba.adapter import AlibabaAdapter

__all__ = ["AlibabaAdapter"]
