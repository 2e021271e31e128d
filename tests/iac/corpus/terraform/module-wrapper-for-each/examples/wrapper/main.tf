module "apps" {
  source = "../../wrappers"

  defaults = {
    retention_in_days = 30
    tags              = { Team = "platform" }
  }

  items = {
    portal = { create_queue = true }
    scheduler = {
      name              = "slurm-scheduler"
      retention_in_days = 90
      tags              = { Tier = "control" }
    }
  }
}

output "portal_log_group" {
  value = module.apps.wrapper["portal"].log_group_name
}
