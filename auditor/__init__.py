"""ccme-audit: is this AWS account, and this infrastructure code, ready for CCME / ParallelCluster?"""

__version__ = "0.1.0"
