"""Live collectors: boto3 calls turned into canonical snapshot resources.

Each collector module declares the resource types it yields (`RESOURCE_TYPES`), the API calls it
makes with their exact IAM actions (`CALLS`, from which `IAM_ACTIONS` is derived) and a
`collect(ctx)` function. Collectors know boto3 and the canonical shapes, never rules: the scan
runner (`auditor.collect.runner`) picks the collectors the selected rules need.
"""
