"""HTTP endpoints served by the daemon; the only importer of fastapi."""
