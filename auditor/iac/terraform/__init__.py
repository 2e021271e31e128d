"""Terraform: HCL directories (python-hcl2's parse tree, evaluated here) and plan JSON.

HCL: variables (defaults, `--param`, terraform.tfvars, *.auto.tfvars), locals, references to
other resources (`aws_kms_key.x.arn`), modules (local sources, and registry/git sources that
terraform init downloaded, found through .terraform/modules/modules.json) with their variables,
outputs, count and for_each, a set of functions (the table in functions._call and _COLLECTION_FUNCTIONS),
try/can, for expressions, splats, dynamic blocks, conditionals, count and for_each. Plan JSON
(`terraform show -json`): planned values, with references taken from the configuration section
for values known after apply. Anything else (data sources other than caller identity / region /
partition / aws_iam_policy_document, template directives, functions not in the tables, a module not
downloaded) is unknown(reason), never guessed.

The data flows one way: hcl (parse trees, directories) -> expressions and functions (values) -> module
(names, variables, outputs, module calls) -> load (a root module read through its calls, or a plan) ->
mapping and provisioner (canonical resources, through blocks) -> joins.
"""

from __future__ import annotations

from auditor.iac.terraform.hcl import GENERATED_NAME_ARGUMENTS, NAME_ARGUMENT, require_hcl
from auditor.iac.terraform.load import is_plan, load_directory, load_plan, local_module_calls, root_modules
from auditor.iac.terraform.mapping import map_resource

__all__ = [
    "GENERATED_NAME_ARGUMENTS",
    "NAME_ARGUMENT",
    "is_plan",
    "load_directory",
    "load_plan",
    "local_module_calls",
    "map_resource",
    "require_hcl",
    "root_modules",
]
