"""Documents in, records out: feeds, list pages and article pages. No network, no database."""
