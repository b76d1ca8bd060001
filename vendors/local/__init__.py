"""The local face engine (dlib): a backend that needs no vendor account (LOCAL-ENGINE.md)."""
