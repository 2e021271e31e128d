"""The demo: an in-process moto account seeded with a CCME environment, scanned for real."""
