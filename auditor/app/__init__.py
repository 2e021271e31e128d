"""The application layer: one audit run, composed in one place (docs/architecture.md).

    load (collect a live account | read templates | read a snapshot) -> derive -> evaluate
        -> report | import (Security Hub) | notify (what changed since the previous report)

auditor/app/pipeline.py holds the stages and the runs built from them; auditor/app/iac.py the templates' run
(apart, so that a live run never imports the IaC loaders). The commands (auditor/cli), the Lambda handler
(auditor/aws_lambda), the multi-account runner (auditor/multi) and the demo call these functions, so that
they cannot drift apart. Nothing below this package imports it.
"""
