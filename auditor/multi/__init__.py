"""Multi-account, multi-region scans: role assumption, bounded concurrency, merged findings."""
