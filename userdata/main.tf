# Renders the jump box's cloud-config.  A module of its own so that the aws
# module and the tests render exactly the same text.
terraform {
  required_version = ">= 1.9"
}

locals {
  # The box's scripts without their comment lines (not the shebang, not
  # shellcheck's directives): the comments are for this repository, and
  # EC2 takes 16 KiB of user data.
  scripts = {
    for name in ["jumpbox-aws.sh", "jumpbox-teardown.sh", "jumpbox-audit-ship.sh"] :
    name => replace(file("${path.module}/${name}"), "/(?m)^[ \t]*#( [^s].*)?\n/", "")
  }
  # s3://BUCKET[/PREFIX]: the audit records' key prefix, PREFIX/audit/STACK/
  # (lib/stack/audit.h).  Only an S3 state can take them from the box.
  audit_ship   = startswith(var.state_url, "s3://")
  audit_parts  = local.audit_ship ? regex("^s3://([^/]+)/?(.*)$", var.state_url) : ["", ""]
  audit_prefix = trimsuffix(local.audit_parts[1], "/")
  audit_key    = "${local.audit_prefix == "" ? "" : "${local.audit_prefix}/"}audit/${var.stack_id}/"

  poweroff_at = timeadd(var.expires_at, "${var.poweroff_grace_minutes}m")
  # systemd calendar syntax, pinned to UTC whatever the box's time zone.
  teardown_calendar = "${formatdate("YYYY-MM-DD hh:mm:ss", var.expires_at)} UTC"
  poweroff_calendar = "${formatdate("YYYY-MM-DD hh:mm:ss", local.poweroff_at)} UTC"

  cloud_config = templatefile("${path.module}/cloud-config.yaml.tftpl", {
    stack_id         = var.stack_id
    expires_at       = var.expires_at
    ssh_user         = var.ssh_user
    public_key       = var.public_key
    host_private_key = var.host_private_key
    host_public_key  = var.host_public_key
    teardown_token   = var.teardown_token
    sshd_config = templatefile("${path.module}/sshd-jumpbox.conf.tftpl", {
      ssh_port    = var.ssh_port
      ssh_user    = var.ssh_user
      permit_open = var.permit_open
    })
    aws_lib         = local.scripts["jumpbox-aws.sh"]
    teardown_script = local.scripts["jumpbox-teardown.sh"]
    teardown_service = templatefile("${path.module}/jumpbox-teardown.service.tftpl", {
      stack_id       = var.stack_id
      clean_function = var.clean_function_name
      region         = var.region
    })
    teardown_timer = templatefile("${path.module}/jumpbox-teardown.timer.tftpl", {
      stack_id    = var.stack_id
      expires_at  = var.expires_at
      on_calendar = local.teardown_calendar
    })
    audit_ship        = local.audit_ship
    audit_ship_script = local.scripts["jumpbox-audit-ship.sh"]
    audit_service = templatefile("${path.module}/jumpbox-audit.service.tftpl", {
      stack_id   = var.stack_id
      bucket     = local.audit_parts[0]
      key_prefix = local.audit_key
      region     = var.region
    })
    poweroff_service = file("${path.module}/jumpbox-poweroff.service")
    poweroff_timer = templatefile("${path.module}/jumpbox-poweroff.timer.tftpl", {
      stack_id    = var.stack_id
      poweroff_at = local.poweroff_at
      on_calendar = local.poweroff_calendar
    })
  })
}

output "cloud_config" {
  description = "The #cloud-config user data (holds the host private key and the teardown token)."
  value       = local.cloud_config
  sensitive   = true
}
