"""Cluster tests (real PostgreSQL, real role processes)."""
